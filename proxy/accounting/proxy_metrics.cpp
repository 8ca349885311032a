#include "proxy/accounting/proxy_metrics.hpp"

#include "proxy/http/exchange_outcome.hpp"

namespace mproxy::proxy {

namespace {
std::size_t status_class(unsigned status) {
    return status >= 100 && status < 600 ? status / 100 : 0;
}
}  // namespace

void ProxyMetrics::exchange_done(const ExchangeOutcome& outcome) {
    add(exchanges_by_status_class_[status_class(outcome.status)]);
    if (outcome.interim_responses > 0) add(interim_responses_, outcome.interim_responses);
    exchange_duration_.observe(
        std::chrono::duration_cast<std::chrono::nanoseconds>(outcome.duration));
    // No first byte, no observation: an origin that never answered says nothing about latency.
    if (outcome.status != 0 || outcome.interim_responses > 0)
        time_to_first_byte_.observe(
            std::chrono::duration_cast<std::chrono::nanoseconds>(outcome.time_to_first_byte));
}

void ProxyMetrics::answered_locally(unsigned status) {
    add(exchanges_by_status_class_[status_class(status)]);
}

void ProxyMetrics::rejected(const std::string& rule_id) {
    const std::lock_guard lock(rejects_mutex_);
    ++rejects_by_rule_[rule_id];
}

void ProxyMetrics::upstream_connect_failed(ConnectFailureCause cause) {
    add(upstream_connect_failures_[static_cast<std::size_t>(cause)]);
}

void ProxyMetrics::tls_handshake(TlsSide side, bool succeeded) {
    const auto index = static_cast<std::size_t>(side);
    add(tls_handshakes_[index]);
    if (!succeeded) add(tls_handshake_failures_[index]);
}

ProxyMetrics::Totals ProxyMetrics::totals() const {
    Totals t;
    constexpr auto relaxed = std::memory_order_relaxed;
    for (std::size_t i = 0; i < status_classes; ++i)
        t.exchanges_by_status_class[i] = exchanges_by_status_class_[i].load(relaxed);
    t.interim_responses = interim_responses_.load(relaxed);
    for (std::size_t i = 0; i < connect_failure_cause_count; ++i)
        t.upstream_connect_failures[i] = upstream_connect_failures_[i].load(relaxed);
    for (std::size_t i = 0; i < 2; ++i) {
        t.tls_handshakes[i] = tls_handshakes_[i].load(relaxed);
        t.tls_handshake_failures[i] = tls_handshake_failures_[i].load(relaxed);
    }
    for (std::size_t i = 0; i < t.connections_refused.size(); ++i)
        t.connections_refused[i] = connections_refused_[i].load(relaxed);
    t.lifetime_closes = lifetime_closes_.load(relaxed);
    {
        const std::lock_guard lock(rejects_mutex_);
        t.rejects_by_rule = rejects_by_rule_;
    }
    t.exchange_duration = exchange_duration_.snapshot();
    t.time_to_first_byte = time_to_first_byte_.snapshot();
    return t;
}

}  // namespace mproxy::proxy
