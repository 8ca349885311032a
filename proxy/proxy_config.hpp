#pragma once
// Everything the data plane needs to know at start-up, as plain values. The sessions' settings and
// TLS interception's are structs of their own folders, so that those parts take only their share
// and never include this file, which sits above them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/net/connection_limits.hpp"
#include "proxy/rules/connect_action.hpp"
#include "proxy/session/session_config.hpp"
#include "proxy/tls/interception_config.hpp"

namespace mproxy::proxy {

struct ProxyConfig : SessionConfig, InterceptionConfig {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;  // 0: an ephemeral port, read back with ProxyServer::endpoint()
    unsigned threads = 1;              // one io_context per thread

    // What a CONNECT gets when no rule decides otherwise.
    ConnectAction connect_action = ConnectAction::tunnel;

    // Flow events kept in memory for WatchFlows/ListFlows; 0 turns flow events off.
    std::size_t flow_log_size = 10'000;

    // The capture store, <state_dir>/captures.db, when there is a state directory: what its kept
    // exchanges may take on disk (the oldest go first), and how long they are kept (0: until the
    // budget needs the room). capture_store false keeps no exchange at all.
    bool capture_store = true;
    std::uint64_t capture_max_bytes = std::uint64_t{1} << 30;
    std::chrono::seconds capture_max_age{0};

    // Closed connections stay listed (with their final counters) this long, at most this many, so
    // that a Prometheus scrape still sees their last bytes.
    std::chrono::milliseconds closed_connection_grace{30'000};
    std::size_t closed_connection_limit = 10'000;

    // At start; ProxyServer::set_limits changes them later (a reload).
    ConnectionLimits limits;
};

}  // namespace mproxy::proxy
