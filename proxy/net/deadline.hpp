#pragma once
// One watchdog per client connection (the pattern of Asio's talking-async examples): each step
// stores the time by which it must progress, which costs a clock read instead of a timer, and a
// single timer wakes when the latest deadline passes and runs the expiry action.

#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "proxy/net/asio_types.hpp"

namespace mproxy::proxy {

class Deadline {
public:
    explicit Deadline(const asio::any_io_executor& executor) : timer_(executor) {}

    void expires_after(steady_clock::duration d);
    void expires_never();
    // True once the deadline passed, until the next expires_after.
    bool expired() const { return expired_; }

    // Runs for as long as its caller lets it (join it with `||`): calls `on_expire` each time the
    // current deadline passes.
    awaitable<> watch(std::function<void()> on_expire);

private:
    asio::steady_timer timer_;
    steady_clock::time_point at_ = steady_clock::time_point::max();
    steady_clock::time_point armed_ = steady_clock::time_point::max();
    bool expired_ = false;
};

}  // namespace mproxy::proxy
