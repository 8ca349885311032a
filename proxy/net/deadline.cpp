#include "proxy/net/deadline.hpp"

#include <boost/asio/this_coro.hpp>

namespace mproxy::proxy {

void Deadline::expires_after(steady_clock::duration d) {
    at_ = steady_clock::now() + d;
    expired_ = false;
    // Only an earlier deadline needs the timer moved; a later one is noticed when it wakes.
    if (at_ < armed_) {
        armed_ = at_;
        timer_.expires_at(at_);  // wakes the watcher, which re-arms
    }
}

void Deadline::expires_never() {
    at_ = steady_clock::time_point::max();
    expired_ = false;
}

awaitable<> Deadline::watch(std::function<void()> on_expire) {
    for (;;) {
        armed_ = at_;
        timer_.expires_at(armed_);
        co_await timer_.async_wait(use_tuple);
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return;
        if (steady_clock::now() >= at_) {
            expired_ = true;
            at_ = steady_clock::time_point::max();
            on_expire();
        }
    }
}

}  // namespace mproxy::proxy
