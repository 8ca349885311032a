#pragma once
// The data plane's totals and distributions as Prometheus families, read at scrape time from the
// plain counters the proxy keeps (ProxyMetrics, the connection registry's per-mode totals, the leaf
// minter, the flow log, the rule book).

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>

#include "proxy/proxy_server.hpp"

namespace mproxy::control {

class ProxyCollector final : public prometheus::Collectable {
  public:
    // `rule_set_version` names the rules in force (the rule store's generation); without it the
    // count of rule sets published stands in.
    ProxyCollector(proxy::ProxyServer& proxy, std::function<std::uint64_t()> rule_set_version);
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    void collect_connections(std::vector<prometheus::MetricFamily>& out) const;
    void collect_exchanges(std::vector<prometheus::MetricFamily>& out) const;
    void collect_interception(std::vector<prometheus::MetricFamily>& out) const;
    void collect_capture(std::vector<prometheus::MetricFamily>& out) const;
    void collect_control(std::vector<prometheus::MetricFamily>& out) const;

    proxy::ProxyServer& proxy_;
    const std::function<std::uint64_t()> rule_set_version_;
};

}  // namespace mproxy::control
