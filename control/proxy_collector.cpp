#include "control/proxy_collector.hpp"

#include <array>
#include <string>

#include "control/metric_families.hpp"
#include "proxy/capture/capture_store.hpp"
#include "proxy/tls/tls_interception.hpp"

#ifndef MPROXY_VERSION
#define MPROXY_VERSION "unknown"
#endif

namespace mproxy::control {

namespace {
constexpr std::array<const char*, 4> direction_names = {"client_rx", "client_tx", "upstream_rx",
                                                        "upstream_tx"};
constexpr std::array<const char*, proxy::ProxyMetrics::status_classes> status_class_names = {
    "none", "1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<const char*, 2> tls_side_names = {"client", "upstream"};

std::string mode_name(std::size_t index) {
    return std::string(proxy::to_string(static_cast<proxy::ConnectionMode>(index)));
}

double as_double(std::uint64_t value) {
    return static_cast<double>(value);
}

// Families of one unlabelled sample each.
struct SingleSample {
    const char* name;
    const char* help;
    double value;
};
enum class SampleKind { counter, gauge };
void add_single_samples(std::vector<prometheus::MetricFamily>& out, SampleKind kind,
                        std::initializer_list<SingleSample> samples) {
    for (const auto& sample : samples) {
        auto family = kind == SampleKind::counter ? counter_family(sample.name, sample.help)
                                                  : gauge_family(sample.name, sample.help);
        add_sample(family, {}, sample.value);
        out.push_back(std::move(family));
    }
}
}  // namespace

ProxyCollector::ProxyCollector(proxy::ProxyServer& proxy,
                               std::function<std::uint64_t()> rule_set_version)
    : proxy_(proxy), rule_set_version_(std::move(rule_set_version)) {}

std::vector<prometheus::MetricFamily> ProxyCollector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    auto info = gauge_family("mproxy_build_info", "Always 1; the version of mproxyd in a label.");
    add_sample(info, {{"version", MPROXY_VERSION}}, 1);
    out.push_back(std::move(info));
    collect_connections(out);
    collect_exchanges(out);
    collect_interception(out);
    collect_capture(out);
    collect_control(out);
    return out;
}

void ProxyCollector::collect_connections(std::vector<prometheus::MetricFamily>& out) const {
    const auto totals = proxy_.connections().mode_totals();
    auto bytes = counter_family(
        "mproxy_bytes_total",
        "Wire bytes by connection mode and direction (client_rx/client_tx to and from "
        "clients, upstream_rx/upstream_tx to and from origins), counted in the mode the "
        "connection was in when they passed.");
    auto opened = counter_family(
        "mproxy_connections_opened_total",
        "Connections that entered each mode: accepted connections enter plain; a CONNECT "
        "decision or a WebSocket upgrade moves one to another mode.");
    auto closed =
        counter_family("mproxy_connections_closed_total",
                       "Connections that left each mode, by closing or by moving to another mode "
                       "(opened - closed = active).");
    auto active =
        gauge_family("mproxy_connections_active", "Client connections open now, by mode.");
    for (std::size_t m = 0; m < totals.size(); ++m) {
        const auto mode = mode_name(m);
        for (std::size_t d = 0; d < direction_names.size(); ++d)
            add_sample(bytes, {{"mode", mode}, {"direction", direction_names[d]}},
                       as_double(totals[m].bytes[d]));
        add_sample(opened, {{"mode", mode}}, as_double(totals[m].entered));
        add_sample(closed, {{"mode", mode}}, as_double(totals[m].left));
        add_sample(active, {{"mode", mode}}, as_double(totals[m].active));
    }
    out.push_back(std::move(bytes));
    out.push_back(std::move(opened));
    out.push_back(std::move(closed));
    out.push_back(std::move(active));
}

void ProxyCollector::collect_exchanges(std::vector<prometheus::MetricFamily>& out) const {
    const auto totals = proxy_.metrics().totals();
    auto exchanges = counter_family(
        "mproxy_exchanges_total",
        "Request/response exchanges by the class of their final status, relayed from "
        "origins or answered by mproxy itself; none: ended without a final status.");
    for (std::size_t i = 0; i < status_class_names.size(); ++i)
        add_sample(exchanges, {{"status_class", status_class_names[i]}},
                   as_double(totals.exchanges_by_status_class[i]));
    out.push_back(std::move(exchanges));

    auto duration =
        histogram_family("mproxy_exchange_duration_seconds",
                         "Relayed exchanges from the request head to the end of the response.");
    add_histogram(duration, {}, totals.exchange_duration);
    out.push_back(std::move(duration));
    auto ttfb = histogram_family(
        "mproxy_exchange_time_to_first_byte_seconds",
        "From sending the request head to the origin's first response head (a 1xx counts).");
    add_histogram(ttfb, {}, totals.time_to_first_byte);
    out.push_back(std::move(ttfb));

    auto interim =
        counter_family("mproxy_interim_responses_total", "1xx responses relayed to clients.");
    add_sample(interim, {}, as_double(totals.interim_responses));
    out.push_back(std::move(interim));

    auto rejects = counter_family(
        "mproxy_rejects_total",
        "CONNECTs and requests refused by a reject rule (rule id), or by the default "
        "action (rule=\"(default)\").");
    for (const auto& [rule, count] : totals.rejects_by_rule)
        add_sample(rejects, {{"rule", rule.empty() ? "(default)" : rule}}, as_double(count));
    out.push_back(std::move(rejects));

    auto failures = counter_family(
        "mproxy_upstream_connect_failures_total",
        "Origins that could not be reached, by cause: resolve, refused, unreachable, "
        "timeout, loop (the origin is this proxy).");
    for (std::size_t i = 0; i < totals.upstream_connect_failures.size(); ++i)
        add_sample(
            failures,
            {{"cause", std::string(proxy::to_string(static_cast<proxy::ConnectFailureCause>(i)))}},
            as_double(totals.upstream_connect_failures[i]));
    out.push_back(std::move(failures));

    auto handshakes =
        counter_family("mproxy_tls_handshakes_total",
                       "TLS handshakes attempted, with clients (mproxy's leaf) and with origins.");
    auto handshake_failures = counter_family("mproxy_tls_handshake_failures_total",
                                             "TLS handshakes that failed, by side.");
    for (std::size_t i = 0; i < tls_side_names.size(); ++i) {
        add_sample(handshakes, {{"side", tls_side_names[i]}}, as_double(totals.tls_handshakes[i]));
        add_sample(handshake_failures, {{"side", tls_side_names[i]}},
                   as_double(totals.tls_handshake_failures[i]));
    }
    out.push_back(std::move(handshakes));
    out.push_back(std::move(handshake_failures));

    auto refused = counter_family("mproxy_connections_refused_total",
                                  "New connections answered 503 because of a connection limit, by the limit.");
    for (const auto why : {proxy::Admission::over_max_connections, proxy::Admission::over_max_per_client})
        add_sample(refused, {{"limit", std::string(proxy::to_string(why))}},
                   as_double(totals.connections_refused[static_cast<std::size_t>(why)]));
    out.push_back(std::move(refused));
    auto lifetime = counter_family("mproxy_connections_lifetime_closed_total",
                                   "Connections closed because they reached the connection lifetime limit.");
    add_sample(lifetime, {}, as_double(totals.lifetime_closes));
    out.push_back(std::move(lifetime));
}

void ProxyCollector::collect_interception(std::vector<prometheus::MetricFamily>& out) const {
    const auto stats = proxy_.interception().minter().stats();
    add_single_samples(
        out, SampleKind::counter,
        {{"mproxy_leaf_certificates_minted_total", "Leaf certificates minted from the CA.",
          as_double(stats.mints)},
         {"mproxy_leaf_mint_failures_total", "Leaf certificates that could not be minted.",
          as_double(stats.mint_failures)},
         {"mproxy_leaf_cache_hits_total", "Leaf certificates served from the cache.",
          as_double(stats.hits)},
         {"mproxy_leaf_cache_misses_total", "Leaf certificates not in the cache when asked for.",
          as_double(stats.misses)},
         {"mproxy_leaf_cache_evictions_total",
          "Leaf certificates dropped to keep the cache within its capacity.",
          as_double(stats.evictions)}});
    auto entries = gauge_family("mproxy_leaf_cache_entries", "Leaf certificates in the cache now.");
    add_sample(entries, {}, as_double(stats.entries));
    out.push_back(std::move(entries));
    auto capacity =
        gauge_family("mproxy_leaf_cache_capacity", "The most leaf certificates the cache holds.");
    add_sample(capacity, {}, as_double(stats.capacity));
    out.push_back(std::move(capacity));
    auto mint_duration =
        histogram_family("mproxy_leaf_mint_duration_seconds", "Time to mint one leaf certificate.");
    add_histogram(mint_duration, {}, stats.mint_durations);
    out.push_back(std::move(mint_duration));
}

void ProxyCollector::collect_capture(std::vector<prometheus::MetricFamily>& out) const {
    const auto* store = proxy_.captures();
    if (!store) return;  // no state directory: nothing is kept, no series say otherwise
    const auto stats = store->stats();
    add_single_samples(
        out, SampleKind::counter,
        {{"mproxy_captures_stored_total", "Intercepted exchanges committed to the capture store.",
          as_double(stats.stored)},
         {"mproxy_capture_bodies_truncated_total", "Captured bodies kept only up to their cap.",
          as_double(stats.truncated_bodies)},
         {"mproxy_captures_evicted_total",
          "Captured exchanges removed for the store's byte budget or maximum age.",
          as_double(stats.evicted)}});
    auto dropped = counter_family(
        "mproxy_captures_dropped_total",
        "Captured exchanges not kept, by reason: queue_full (the writer was behind), disk_full, "
        "write_error. The traffic itself is never held back.");
    add_sample(dropped, {{"reason", "queue_full"}}, as_double(stats.dropped_queue_full));
    add_sample(dropped, {{"reason", "disk_full"}}, as_double(stats.dropped_disk_full));
    add_sample(dropped, {{"reason", "write_error"}}, as_double(stats.dropped_write_error));
    out.push_back(std::move(dropped));
    add_single_samples(
        out, SampleKind::gauge,
        {{"mproxy_capture_store_bytes", "What the kept exchanges count against the store's budget.",
          as_double(stats.bytes)},
         {"mproxy_capture_queue", "Captured exchanges waiting for the store's writer.",
          as_double(stats.queued)},
         {"mproxy_capture_writer_lag_seconds", "How long the oldest waiting capture has waited.",
          stats.writer_lag_seconds},
         {"mproxy_capture_disk_full",
          "1 while capturing is stopped because the disk refused the last write.",
          stats.disk_full ? 1.0 : 0.0}});
}

void ProxyCollector::collect_control(std::vector<prometheus::MetricFamily>& out) const {
    auto& flows = proxy_.flows();
    auto subscribers = gauge_family("mproxy_flow_subscribers", "WatchFlows streams open now.");
    add_sample(subscribers, {}, as_double(flows.subscribers.load(std::memory_order_relaxed)));
    out.push_back(std::move(subscribers));
    auto events = counter_family("mproxy_flow_events_total", "Flow events put in the flow log.");
    add_sample(events, {}, as_double(flows.last_sequence()));
    out.push_back(std::move(events));
    auto dropped = counter_family(
        "mproxy_flow_events_dropped_total",
        "Flow events slow WatchFlows subscribers missed (reported to them as gaps).");
    add_sample(dropped, {},
               as_double(flows.dropped_to_subscribers.load(std::memory_order_relaxed)));
    out.push_back(std::move(dropped));

    const auto& book = proxy_.rules();
    auto version = gauge_family("mproxy_rule_set_version",
                                "Version of the rule set in force; it rises with each change.");
    add_sample(version, {}, as_double(rule_set_version_ ? rule_set_version_() : book.publishes()));
    out.push_back(std::move(version));
    auto reloads =
        counter_family("mproxy_rule_set_reloads_total", "Rule sets put in force since start.");
    add_sample(reloads, {}, as_double(book.publishes()));
    out.push_back(std::move(reloads));
    auto rules = gauge_family("mproxy_rules", "Rules in the rule set in force.");
    add_sample(rules, {}, as_double(book.snapshot()->rules().size()));
    out.push_back(std::move(rules));
}

}  // namespace mproxy::control
