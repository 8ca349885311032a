#pragma once
// Bytes by client and by target over the last minute: every few seconds the cumulative totals
// (closed connections plus live ones) are sampled; a window is the difference between now and the
// sample about a minute old.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "proxy/accounting/connection_registry.hpp"

namespace mproxy::control {

struct TrafficTables {
    std::unordered_map<std::string, proxy::TrafficBytes> by_client, by_target;
    std::chrono::steady_clock::time_point taken;
};

// Cumulative totals now: the registry's closed traffic plus every live connection's counters.
TrafficTables cumulative_traffic(const proxy::ConnectionRegistry& registry);

class TrafficSampler {
public:
    TrafficSampler(const proxy::ConnectionRegistry& registry,
                   std::chrono::milliseconds interval = std::chrono::seconds(5),
                   std::chrono::milliseconds window = std::chrono::seconds(60));
    ~TrafficSampler();  // stops the sampling thread

    // Totals since start, and the change since the newest sample at least a window old (since
    // construction while there is none: the window then covers the sampler's whole life).
    struct Summary {
        TrafficTables since_start;
        TrafficTables last_window;
        std::chrono::steady_clock::duration window_span{};
    };
    Summary summary() const;

private:
    void run();

    const proxy::ConnectionRegistry& registry_;
    const std::chrono::milliseconds interval_, window_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::deque<TrafficTables> samples_;  // oldest first, spanning a little more than the window
    std::thread thread_;
};

}  // namespace mproxy::control
