#pragma once
// /metrics for Prometheus on its own listener: the data plane's totals, one series per connection
// and direction, and the process metrics, all read at scrape time by custom collectables.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "proxy/proxy_server.hpp"

namespace prometheus {
class Exposer;
class Collectable;
}  // namespace prometheus

namespace mproxy::control {

struct MetricsConfig {
    std::string listen = "127.0.0.1:9100";  // host:port, [v6]:port; port 0 picks one (see port())
    std::size_t connection_series_limit = 10'000;
};

class MetricsServer {
  public:
    // `rule_set_version`: the rule store's generation (optional). Binds at once; throws
    // std::runtime_error naming the address when it cannot.
    MetricsServer(MetricsConfig config, proxy::ProxyServer& proxy,
                  std::function<std::uint64_t()> rule_set_version);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    int port() const { return port_; }
    std::string address() const;  // host:port as bound

  private:
    void poke_listener() const;  // one connection to our own port, to wake the server's accept loop

    MetricsConfig config_;
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
    std::unique_ptr<prometheus::Exposer> exposer_;
    int port_ = 0;
};

}  // namespace mproxy::control
