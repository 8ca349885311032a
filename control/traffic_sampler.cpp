#include "control/traffic_sampler.hpp"

#include <vector>

namespace mproxy::control {

namespace {

proxy::TrafficBytes live_bytes(const proxy::ConnectionSnapshot& connection) {
    return proxy::TrafficBytes{connection.client_rx, connection.client_tx, connection.upstream_rx,
                               connection.upstream_tx, 1, connection.exchanges};
}

}  // namespace

TrafficTables cumulative_traffic(const proxy::ConnectionRegistry& registry) {
    // A closing connection leaves the live list and joins the closed totals under two different
    // locks, so one reading can miss it (or, read the other way round, count it twice). Every
    // connection ever opened is either live or closed, which tells a consistent reading from a torn
    // one; the gap is a few instructions wide, so a retry almost always lands outside it. A few
    // tries bound the cost while connections churn; the last one is used as it is.
    const auto& closed = registry.closed_traffic();
    TrafficTables tables;
    std::vector<proxy::ConnectionSnapshot> live;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt > 0) std::this_thread::yield();
        const auto closed_before = closed.total().connections;
        tables.by_client = closed.by_client();
        tables.by_target = closed.by_target();
        live = registry.snapshot();
        const auto opened = registry.opened_total();
        const auto closed_after = closed.total().connections;
        if (closed_before == closed_after && closed_after + live.size() == opened) break;
    }
    tables.taken = std::chrono::steady_clock::now();
    for (const auto& connection : live) {
        const auto bytes = live_bytes(connection);
        tables.by_client[connection.client_ip] += bytes;
        if (!connection.target.empty()) tables.by_target[connection.target] += bytes;
    }
    return tables;
}

TrafficSampler::TrafficSampler(const proxy::ConnectionRegistry& registry, std::chrono::milliseconds interval,
                               std::chrono::milliseconds window)
    : registry_(registry), interval_(interval), window_(window), thread_([this] { run(); }) {}

TrafficSampler::~TrafficSampler() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void TrafficSampler::run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        auto sample = cumulative_traffic(registry_);  // takes the registry's locks: not under ours
        lock.lock();
        samples_.push_back(std::move(sample));
        // Keep the newest sample at least a window old and everything after it: the oldest one
        // goes once the next one is old enough to be the baseline instead.
        const auto horizon = samples_.back().taken - window_;
        while (samples_.size() >= 2 && samples_[1].taken <= horizon) samples_.pop_front();
    }
}

namespace {

std::uint64_t minus(std::uint64_t now, std::uint64_t then) { return now > then ? now - then : 0; }

// What `now` adds to `then`, key by key; keys that moved no byte are left out. Connections are
// counted since start only, so the window has none.
std::unordered_map<std::string, proxy::TrafficBytes> difference(
    const std::unordered_map<std::string, proxy::TrafficBytes>& now,
    const std::unordered_map<std::string, proxy::TrafficBytes>& then) {
    std::unordered_map<std::string, proxy::TrafficBytes> out;
    for (const auto& [key, bytes] : now) {
        proxy::TrafficBytes delta = bytes;
        if (const auto old = then.find(key); old != then.end()) {
            delta.client_rx = minus(bytes.client_rx, old->second.client_rx);
            delta.client_tx = minus(bytes.client_tx, old->second.client_tx);
            delta.upstream_rx = minus(bytes.upstream_rx, old->second.upstream_rx);
            delta.upstream_tx = minus(bytes.upstream_tx, old->second.upstream_tx);
            delta.exchanges = minus(bytes.exchanges, old->second.exchanges);
        }
        delta.connections = 0;
        if (delta.client_rx + delta.client_tx + delta.upstream_rx + delta.upstream_tx == 0) continue;
        out.emplace(key, delta);
    }
    return out;
}

}  // namespace

TrafficSampler::Summary TrafficSampler::summary() const {
    Summary summary;
    summary.since_start = cumulative_traffic(registry_);
    const auto now = summary.since_start.taken;

    // The newest sample at least a window old. While there is none the sampler is younger than a
    // window (give or take one interval), so the window is everything since construction: a younger
    // sample as the baseline would leave out the window's first part.
    TrafficTables baseline;
    baseline.taken = started_;
    {
        std::lock_guard lock(mutex_);
        const TrafficTables* chosen = nullptr;
        for (auto it = samples_.begin(); it != samples_.end() && it->taken <= now - window_; ++it) chosen = &*it;
        if (chosen) baseline = *chosen;
    }
    summary.last_window.by_client = difference(summary.since_start.by_client, baseline.by_client);
    summary.last_window.by_target = difference(summary.since_start.by_target, baseline.by_target);
    summary.last_window.taken = now;
    summary.window_span = now - baseline.taken;
    return summary;
}

}  // namespace mproxy::control
