#include "proxy/accounting/connection_registry.hpp"

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
        registry_.retire_locked(*this);
        target = std::move(target_);
    }
    const auto b = bytes();
    const TrafficBytes traffic{b[0], b[1], b[2], b[3], 1, counters_.exchanges.load(std::memory_order_relaxed)};
    registry_.closed_traffic_.add(client_ip_, target, traffic);
}

DirectionBytes ConnectionRecord::bytes() const {
    constexpr auto relaxed = std::memory_order_relaxed;
    return {counters_.client_rx.load(relaxed), counters_.client_tx.load(relaxed),
            counters_.upstream_rx.load(relaxed), counters_.upstream_tx.load(relaxed)};
}

DirectionBytes ConnectionRecord::bytes_in_mode_locked() const {
    auto now = bytes();
    for (std::size_t i = 0; i < now.size(); ++i) now[i] -= mode_baseline_[i];
    return now;
}

void ConnectionRecord::set_target(std::string target) {
    std::lock_guard lock(registry_.mutex_);
    target_ = std::move(target);
}

void ConnectionRecord::set_mode(ConnectionMode mode) {
    std::lock_guard lock(registry_.mutex_);
    if (mode == mode_) return;
    // Bytes so far belong to the mode being left; the new mode counts from here.
    auto& left = registry_.mode_totals_[static_cast<std::size_t>(mode_)];
    const auto in_mode = bytes_in_mode_locked();
    for (std::size_t i = 0; i < in_mode.size(); ++i) left.bytes[i] += in_mode[i];
    ++left.left;
    mode_baseline_ = bytes();
    mode_ = mode;
    ++registry_.mode_totals_[static_cast<std::size_t>(mode_)].entered;
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

ConnectionRegistry::ConnectionRegistry(RecentlyClosedPolicy recently_closed)
    : recently_closed_policy_(recently_closed) {}

void ConnectionRegistry::retire_locked(const ConnectionRecord& record) {
    live_.erase(record.id_);
    if (const auto found = live_by_client_.find(record.client_ip_);
        found != live_by_client_.end() && --found->second == 0)
        live_by_client_.erase(found);
    auto& totals = mode_totals_[static_cast<std::size_t>(record.mode_)];
    const auto in_mode = record.bytes_in_mode_locked();
    for (std::size_t i = 0; i < in_mode.size(); ++i) totals.bytes[i] += in_mode[i];
    ++totals.left;
    if (recently_closed_policy_.grace <= std::chrono::steady_clock::duration::zero() ||
        recently_closed_policy_.limit == 0)
        return;
    const auto now = std::chrono::steady_clock::now();
    auto snapshot = record.snapshot_locked();
    snapshot.closed = true;
    recently_closed_.push_back(Closed{now, std::move(snapshot)});
    if (recently_closed_.size() > recently_closed_policy_.limit) recently_closed_.pop_front();
    prune_recently_closed_locked(now);
}

void ConnectionRegistry::prune_recently_closed_locked(std::chrono::steady_clock::time_point now) const {
    while (!recently_closed_.empty() && now - recently_closed_.front().at > recently_closed_policy_.grace)
        recently_closed_.pop_front();
}

std::vector<ConnectionSnapshot> ConnectionRegistry::recently_closed() const {
    std::lock_guard lock(mutex_);
    prune_recently_closed_locked(std::chrono::steady_clock::now());
    std::vector<ConnectionSnapshot> out;
    out.reserve(recently_closed_.size());
    for (const auto& closed : recently_closed_) out.push_back(closed.snapshot);
    return out;
}

ModeTotalsByMode ConnectionRegistry::mode_totals() const {
    std::lock_guard lock(mutex_);
    auto totals = mode_totals_;
    for (const auto& [id, record] : live_) {
        auto& mode = totals[static_cast<std::size_t>(record->mode_)];
        ++mode.active;
        const auto in_mode = record->bytes_in_mode_locked();
        for (std::size_t i = 0; i < in_mode.size(); ++i) mode.bytes[i] += in_mode[i];
    }
    return totals;
}

std::unique_ptr<ConnectionRecord> ConnectionRegistry::open(std::string client_address, std::string client_ip,
                                                           ConnectionRecord::Closer closer) {
    std::lock_guard lock(mutex_);
    const auto id = next_id_++;
    auto record = std::make_unique<ConnectionRecord>(*this, id, std::move(client_address), std::move(client_ip),
                                                     std::move(closer));
    live_.emplace(id, record.get());
    ++live_by_client_[record->client_ip_];
    ++mode_totals_[static_cast<std::size_t>(ConnectionMode::plain)].entered;
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

std::size_t ConnectionRegistry::live_from(const std::string& client_ip) const {
    std::lock_guard lock(mutex_);
    const auto found = live_by_client_.find(client_ip);
    return found == live_by_client_.end() ? 0 : found->second;
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
