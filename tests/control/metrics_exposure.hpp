#pragma once
// A MetricsServer on 127.0.0.1:0 beside an in-process proxy, and scrapes of it over real HTTP that
// wait (with a deadline) until what they show settles.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "control/metrics_server.hpp"
#include "tests/support/deadline.hpp"
#include "tests/support/metrics_scrape.hpp"

namespace mproxy::test {

class MetricsExposure {
  public:
    explicit MetricsExposure(proxy::ProxyServer& proxy, std::size_t series_limit = 10'000,
                             std::function<std::uint64_t()> rule_set_version = {}) {
        control::MetricsConfig config;
        config.listen = "127.0.0.1:0";
        config.connection_series_limit = series_limit;
        server_ =
            std::make_unique<control::MetricsServer>(config, proxy, std::move(rule_set_version));
    }

    std::uint16_t port() const { return static_cast<std::uint16_t>(server_->port()); }
    MetricsScrape scrape() const { return MetricsScrape::fetch(port()); }

    // Scrapes until `settled` holds for a scrape; returns that scrape, or the last one at the
    // deadline (the caller's assertions then say what was wrong). Counters move a little after a
    // client has its answer, so one scrape is not enough.
    MetricsScrape scrape_until(const std::function<bool(const MetricsScrape&)>& settled,
                               Deadline deadline = step_deadline()) const {
        for (;;) {
            auto scrape = MetricsScrape::fetch(port());
            if (settled(scrape) || Clock::now() > deadline) return scrape;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

  private:
    std::unique_ptr<control::MetricsServer> server_;
};

// The per-connection byte series of the one connection with this target, as {client_rx,
// client_tx, upstream_rx, upstream_tx}; -1 where a direction is missing.
inline std::array<double, 4> connection_bytes(const MetricsScrape& scrape,
                                              const std::string& target) {
    std::array<double, 4> out{-1, -1, -1, -1};
    const char* directions[] = {"client_rx", "client_tx", "upstream_rx", "upstream_tx"};
    for (std::size_t i = 0; i < 4; ++i)
        if (auto v = scrape.value("mproxy_connection_bytes_total",
                                  {{"target", target}, {"direction", directions[i]}}))
            out[i] = *v;
    return out;
}

}  // namespace mproxy::test
