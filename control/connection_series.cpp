#include "control/connection_series.hpp"

#include <algorithm>
#include <string>

#include "control/metric_families.hpp"

namespace mproxy::control {

namespace {
constexpr std::size_t directions_per_connection = 4;
}  // namespace

ConnectionSeries::ConnectionSeries(const proxy::ConnectionRegistry& registry,
                                   std::size_t series_limit)
    : registry_(registry), series_limit_(series_limit) {}

std::vector<prometheus::MetricFamily> ConnectionSeries::Collect() const {
    auto connections = registry_.snapshot();
    auto closed = registry_.recently_closed();
    connections.insert(connections.end(), std::make_move_iterator(closed.begin()),
                       std::make_move_iterator(closed.end()));
    // Ids grow with accept order: the newest connections are kept when the cap bites.
    std::sort(connections.begin(), connections.end(),
              [](const auto& a, const auto& b) { return a.id > b.id; });
    const std::size_t kept =
        std::min(connections.size(), series_limit_ / directions_per_connection);
    const std::uint64_t omitted = (connections.size() - kept) * directions_per_connection;
    const auto omitted_total =
        omitted_total_.fetch_add(omitted, std::memory_order_relaxed) + omitted;

    auto bytes = counter_family(
        "mproxy_connection_bytes_total",
        "Wire bytes of each live connection (and of each connection closed within the grace "
        "period), by direction: client_rx/client_tx to and from the client, "
        "upstream_rx/upstream_tx to and from origins.");
    bytes.metric.reserve(kept * directions_per_connection);
    for (std::size_t i = 0; i < kept; ++i) {
        const auto& c = connections[i];
        const auto id = std::to_string(c.id);
        const auto mode = std::string(proxy::to_string(c.mode));
        const std::pair<const char*, std::uint64_t> by_direction[] = {
            {"client_rx", c.client_rx},
            {"client_tx", c.client_tx},
            {"upstream_rx", c.upstream_rx},
            {"upstream_tx", c.upstream_tx}};
        for (const auto& [direction, value] : by_direction)
            add_sample(bytes,
                       {{"connection", id},
                        {"direction", direction},
                        {"client", c.client_ip},
                        {"target", c.target},
                        {"mode", mode}},
                       static_cast<double>(value));
    }
    auto omitted_now =
        gauge_family("mproxy_connection_series_omitted",
                     "Per-connection series left out of this scrape by the series limit.");
    add_sample(omitted_now, {}, static_cast<double>(omitted));
    auto omitted_counter =
        counter_family("mproxy_connection_series_omitted_total",
                       "Per-connection series left out by the series limit, over all scrapes.");
    add_sample(omitted_counter, {}, static_cast<double>(omitted_total));
    auto limit = gauge_family("mproxy_connection_series_limit",
                              "The most per-connection series one scrape carries.");
    add_sample(limit, {}, static_cast<double>(series_limit_));

    std::vector<prometheus::MetricFamily> families;
    families.push_back(std::move(bytes));
    families.push_back(std::move(omitted_now));
    families.push_back(std::move(omitted_counter));
    families.push_back(std::move(limit));
    return families;
}

}  // namespace mproxy::control
