#pragma once
// Everything the data plane needs to know at start-up, as plain values.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/connect_action.hpp"
#include "proxy/connection_limits.hpp"

namespace mproxy::proxy {

struct ProxyConfig {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;  // 0: an ephemeral port, read back with ProxyServer::endpoint()
    unsigned threads = 1;              // one io_context per thread

    // What a CONNECT gets when no rule decides otherwise.
    ConnectAction connect_action = ConnectAction::tunnel;

    std::chrono::milliseconds connect_timeout{10'000};  // resolve + TCP connect to the origin
    std::chrono::milliseconds header_timeout{30'000};   // one request or response head
    std::chrono::milliseconds idle_timeout{300'000};    // no byte either way: keep-alive, bodies, tunnels
    std::size_t max_header_bytes = 64 * 1024;           // request head; larger gets 431

    // TLS interception. The CA comes from ca_cert_file/ca_key_file when both are set, otherwise
    // from state_dir, where it is created on first start.
    std::string state_dir;  // empty: a CA made in memory for this run (tests); mproxyd sets one
    std::string ca_cert_file;
    std::string ca_key_file;
    std::string upstream_ca_file;     // a trust anchor for origins, besides the system store
    bool upstream_insecure = false;   // skip verifying origin certificates
    std::size_t leaf_cache_size = 1024;

    // Flow events kept in memory for WatchFlows/ListFlows; 0 turns flow events off.
    std::size_t flow_log_size = 10'000;

    // Closed connections stay listed (with their final counters) this long, at most this many, so
    // that a Prometheus scrape still sees their last bytes.
    std::chrono::milliseconds closed_connection_grace{30'000};
    std::size_t closed_connection_limit = 10'000;

    // At start; ProxyServer::set_limits changes them later (a reload).
    ConnectionLimits limits;

    std::size_t upstream_idle_per_host = 256;  // pooled idle origin connections, per worker thread
    std::chrono::milliseconds upstream_idle_expiry{60'000};
};

}  // namespace mproxy::proxy
