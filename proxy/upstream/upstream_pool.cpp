#include "proxy/upstream/upstream_pool.hpp"

#include <sys/socket.h>

namespace mproxy::proxy {

namespace {
// An idle connection must have nothing to read: a byte means the origin sent something unasked,
// an end of stream means it closed. Either way it is no longer a clean connection.
bool still_open_and_quiet(UpstreamConnection& connection) {
    char byte;
    const auto n = ::recv(connection.tcp.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

UpstreamPool::UpstreamPool(const asio::any_io_executor& executor, std::size_t idle_per_host,
                           steady_clock::duration idle_expiry)
    : idle_per_host_(idle_per_host), idle_expiry_(idle_expiry), sweep_timer_(executor) {}

bool UpstreamPool::usable(const Idle& idle, steady_clock::time_point now) const {
    return now - idle.since < idle_expiry_ && still_open_and_quiet(*idle.connection);
}

std::unique_ptr<UpstreamConnection> UpstreamPool::acquire(const UpstreamKey& key) {
    const auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    const auto now = steady_clock::now();
    while (!list.empty()) {
        Idle idle = std::move(list.back());  // the most recently used is the most likely alive
        list.pop_back();
        if (usable(idle, now)) return std::move(idle.connection);
    }
    return nullptr;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection) {
    if (closed_ || idle_per_host_ == 0) return;
    connection->tcp.count_into(nullptr, nullptr);
    auto& list = idle_[connection->key];
    list.push_back({std::move(connection), steady_clock::now()});
    if (list.size() > idle_per_host_) list.pop_front();
}

awaitable<> UpstreamPool::sweep() {
    const auto period = std::max<steady_clock::duration>(idle_expiry_ / 4, std::chrono::seconds(1));
    while (!closed_) {
        sweep_timer_.expires_after(period);
        auto [ec] = co_await sweep_timer_.async_wait(use_tuple);
        if (ec || closed_) co_return;
        const auto now = steady_clock::now();
        for (auto it = idle_.begin(); it != idle_.end();) {
            std::erase_if(it->second, [&](const Idle& idle) { return !usable(idle, now); });
            it = it->second.empty() ? idle_.erase(it) : std::next(it);
        }
    }
}

void UpstreamPool::close() {
    closed_ = true;
    sweep_timer_.cancel();
    idle_.clear();
}

std::size_t UpstreamPool::idle() const {
    std::size_t n = 0;
    for (const auto& [key, list] : idle_) n += list.size();
    return n;
}

}  // namespace mproxy::proxy
