#pragma once
// mproxy_connection_bytes_total: one series per connection and direction, for every live
// connection and those closed within the registry's grace period, read from the registry when
// Prometheus scrapes (the hot path never sees Prometheus). At most `series_limit` series: past it
// the oldest connections are left out, and a counter says how many series were.

#include <prometheus/collectable.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "proxy/accounting/connection_registry.hpp"

namespace mproxy::control {

class ConnectionSeries final : public prometheus::Collectable {
  public:
    ConnectionSeries(const proxy::ConnectionRegistry& registry, std::size_t series_limit);
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    const proxy::ConnectionRegistry& registry_;
    const std::size_t series_limit_;
    mutable std::atomic<std::uint64_t> omitted_total_{0};
};

}  // namespace mproxy::control
