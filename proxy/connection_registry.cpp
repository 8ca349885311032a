#include "proxy/connection_registry.hpp"

namespace mproxy::proxy {

std::string_view to_string(ConnectionMode mode) {
    switch (mode) {
        case ConnectionMode::plain: return "plain";
        case ConnectionMode::tunnel: return "tunnel";
        case ConnectionMode::http: return "http";
        case ConnectionMode::mitm: return "mitm";
        case ConnectionMode::websocket: return "websocket";
        case ConnectionMode::rejected: return "rejected";
    }
    return "unknown";
}

ConnectionRecord::ConnectionRecord(ConnectionRegistry& registry, std::uint64_t id, std::string client,
                                   std::string client_ip, Closer closer)
    : registry_(registry),
      id_(id),
      client_(std::move(client)),
      client_ip_(std::move(client_ip)),
      closer_(std::move(closer)) {}

ConnectionRecord::~ConnectionRecord() {
    std::string target;
    {
        std::lock_guard lock(registry_.mutex_);
        registry_.live_.erase(id_);
        target = std::move(target_);
    }
    constexpr auto relaxed = std::memory_order_relaxed;
    const TrafficBytes bytes{counters_.client_rx.load(relaxed), counters_.client_tx.load(relaxed),
                             counters_.upstream_rx.load(relaxed), counters_.upstream_tx.load(relaxed), 1,
                             counters_.exchanges.load(relaxed)};
    registry_.closed_traffic_.add(client_ip_, target, bytes);
}

void ConnectionRecord::set_target(std::string target) {
    std::lock_guard lock(registry_.mutex_);
    target_ = std::move(target);
}

void ConnectionRecord::set_mode(ConnectionMode mode) {
    std::lock_guard lock(registry_.mutex_);
    mode_ = mode;
}

ConnectionSnapshot ConnectionRecord::snapshot_locked() const {
    ConnectionSnapshot s;
    s.id = id_;
    s.client = client_;
    s.client_ip = client_ip_;
    s.target = target_;
    s.mode = mode_;
    s.started = started_;
    constexpr auto relaxed = std::memory_order_relaxed;
    s.client_rx = counters_.client_rx.load(relaxed);
    s.client_tx = counters_.client_tx.load(relaxed);
    s.upstream_rx = counters_.upstream_rx.load(relaxed);
    s.upstream_tx = counters_.upstream_tx.load(relaxed);
    s.exchanges = counters_.exchanges.load(relaxed);
    return s;
}

std::unique_ptr<ConnectionRecord> ConnectionRegistry::open(std::string client_address, std::string client_ip,
                                                           ConnectionRecord::Closer closer) {
    std::lock_guard lock(mutex_);
    const auto id = next_id_++;
    auto record = std::make_unique<ConnectionRecord>(*this, id, std::move(client_address), std::move(client_ip),
                                                     std::move(closer));
    live_.emplace(id, record.get());
    return record;
}

std::vector<ConnectionSnapshot> ConnectionRegistry::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<ConnectionSnapshot> out;
    out.reserve(live_.size());
    for (const auto& [id, record] : live_) out.push_back(record->snapshot_locked());
    return out;
}

std::size_t ConnectionRegistry::live() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

std::uint64_t ConnectionRegistry::opened_total() const {
    std::lock_guard lock(mutex_);
    return next_id_ - 1;
}

bool ConnectionRegistry::close(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    const auto found = live_.find(id);
    if (found == live_.end()) return false;
    // Under the lock the record cannot be destroyed; the closer only posts to its thread.
    if (found->second->closer_) found->second->closer_(id);
    return true;
}

std::size_t ConnectionRegistry::close_if(const std::function<bool(const ConnectionSnapshot&)>& select) {
    std::lock_guard lock(mutex_);
    std::size_t closed = 0;
    for (const auto& [id, record] : live_) {
        if (!select(record->snapshot_locked())) continue;
        if (record->closer_) record->closer_(id);
        ++closed;
    }
    return closed;
}

}  // namespace mproxy::proxy
