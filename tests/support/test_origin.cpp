#include "tests/support/test_origin.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tests/support/origin_session.hpp"

namespace mproxy::test {

namespace net = boost::asio;
using net::ip::tcp;

struct TestOrigin::Gate {
    bool open = false;
    std::vector<std::shared_ptr<net::steady_timer>> waiters;
};

TestOrigin::TestOrigin() : acceptor_(io_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(
        io_,
        [this]() -> net::awaitable<void> {
            for (;;) {
                auto [ec, socket] =
                    co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
                if (ec == net::error::operation_aborted) co_return;
                if (ec) continue;
                ++accepted_;
                auto session = std::make_shared<OriginSession>(*this, std::move(socket));
                net::co_spawn(
                    io_, [session]() { return session->run(); }, [](std::exception_ptr) {});
            }
        },
        [](std::exception_ptr) {});
    thread_ = std::thread([this] {
        // Beast throws from inside a read for inputs it cannot hold (a field value over 64 KiB):
        // log it, drop that connection's work, and keep serving the others.
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                log(std::string("origin-exception ") + e.what());
            }
        }
    });
}

TestOrigin::~TestOrigin() {
    io_.stop();
    thread_.join();
}

void TestOrigin::log(std::string event) {
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    logged_.notify_all();
}

std::vector<std::string> TestOrigin::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

bool TestOrigin::wait_for_event(std::string_view event, Deadline deadline) const {
    std::unique_lock lock(mutex_);
    return logged_.wait_until(lock, deadline, [&] {
        return std::find(events_.begin(), events_.end(), event) != events_.end();
    });
}

void TestOrigin::open_gate(const std::string& name) {
    net::post(io_, [this, name] {
        auto& g = gate(name);
        g.open = true;
        for (auto& waiter : g.waiters) waiter->cancel();
        g.waiters.clear();
    });
}

TestOrigin::Gate& TestOrigin::gate(const std::string& name) {
    auto& slot = gates_[name];
    if (!slot) slot = std::make_shared<Gate>();
    return *slot;
}

net::awaitable<bool> TestOrigin::wait_gate(const std::string& name,
                                           std::chrono::milliseconds limit) {
    auto& g = gate(name);
    if (g.open) co_return true;
    auto timer = std::make_shared<net::steady_timer>(io_, limit);
    g.waiters.push_back(timer);
    auto [ec] = co_await timer->async_wait(net::as_tuple(net::use_awaitable));
    if (ec == net::error::operation_aborted) co_return true;
    log("gate-timeout " + name);
    co_return false;
}

}  // namespace mproxy::test
