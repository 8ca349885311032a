#pragma once
// The data plane's totals and distributions for /metrics, declared once and shared by every worker.
// The hot path only adds to relaxed atomics; the control plane's collector reads them when
// Prometheus scrapes. Per-connection and per-mode byte counters live in the ConnectionRegistry.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "proxy/accounting/latency_histogram.hpp"
#include "proxy/net/connection_limits.hpp"
#include "proxy/upstream/upstream_connector.hpp"

namespace mproxy::proxy {

struct ExchangeOutcome;

enum class TlsSide { client, upstream };  // towards the client (our leaf) or towards the origin

class ProxyMetrics {
  public:
    // Status classes: index 1..5 for 1xx..5xx; 0 for an exchange that ended without a final status.
    static constexpr std::size_t status_classes = 6;

    // A relayed exchange, with its final status, durations and the 1xx it relayed.
    void exchange_done(const ExchangeOutcome& outcome);
    // mproxy answered a request itself (an error, a reject, a refused expectation).
    void answered_locally(unsigned status);
    // A CONNECT or request refused by a rule (rule id) or by the default action (empty id).
    void rejected(const std::string& rule_id);
    void upstream_connect_failed(ConnectFailureCause cause);
    void tls_handshake(TlsSide side, bool succeeded);
    // A new connection answered 503 by a connection limit.
    void connection_refused(Admission why) { add(connections_refused_[static_cast<std::size_t>(why)]); }
    // A connection closed because it reached --max-connection-lifetime.
    void lifetime_reached() { add(lifetime_closes_); }

    struct Totals {
        std::array<std::uint64_t, status_classes> exchanges_by_status_class{};
        std::uint64_t interim_responses = 0;
        std::array<std::uint64_t, connect_failure_cause_count> upstream_connect_failures{};
        std::array<std::uint64_t, 2> tls_handshakes{};          // by TlsSide
        std::array<std::uint64_t, 2> tls_handshake_failures{};  // by TlsSide
        std::map<std::string, std::uint64_t> rejects_by_rule;   // "" is the default action
        std::array<std::uint64_t, 3> connections_refused{};     // by Admission (admitted unused)
        std::uint64_t lifetime_closes = 0;
        HistogramSnapshot exchange_duration;
        HistogramSnapshot time_to_first_byte;
    };
    Totals totals() const;

  private:
    using Counter = std::atomic<std::uint64_t>;
    static void add(Counter& counter, std::uint64_t n = 1) {
        counter.fetch_add(n, std::memory_order_relaxed);
    }

    std::array<Counter, status_classes> exchanges_by_status_class_{};
    Counter interim_responses_{0};
    std::array<Counter, connect_failure_cause_count> upstream_connect_failures_{};
    std::array<Counter, 2> tls_handshakes_{};
    std::array<Counter, 2> tls_handshake_failures_{};
    std::array<Counter, 3> connections_refused_{};
    Counter lifetime_closes_{0};
    // Rejects are rare and keyed by rule id: a small map under a lock is simplest.
    mutable std::mutex rejects_mutex_;
    std::map<std::string, std::uint64_t> rejects_by_rule_;
    // Whole exchanges from request head to the end of the response: 1 ms to 5 min.
    LatencyHistogram exchange_duration_{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,   5,    10,    30,   60,  300};
    // Until the origin's first response head (a 1xx counts): 0.5 ms to 1 min.
    LatencyHistogram time_to_first_byte_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  10,    60};
};

}  // namespace mproxy::proxy
