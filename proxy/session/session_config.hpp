#pragma once
// What the client sessions of a worker need to know at start-up, as plain values: timeouts, the
// request head limit, and how long idle origin connections are kept for reuse. Part of ProxyConfig.

#include <chrono>
#include <cstddef>

#include "proxy/rules/capture_policy.hpp"

namespace mproxy::proxy {

struct SessionConfig {
    std::chrono::milliseconds connect_timeout{10'000};  // resolve + TCP connect to the origin
    std::chrono::milliseconds header_timeout{30'000};   // one request or response head
    std::chrono::milliseconds idle_timeout{300'000};    // no byte either way: keep-alive, bodies, tunnels
    std::size_t max_header_bytes = 64 * 1024;           // request head; larger gets 431
    // TRACE with Max-Forwards: 0 is answered with an echo of the request (credentials left out);
    // false refuses it with 405.
    bool answer_trace = true;

    // What is kept of intercepted exchanges (plain, http, mitm) no rule's own policy covers:
    // headers on, bodies off (--capture-headers, --capture-body-bytes). Kept only when there
    // is a capture store (a state directory).
    CapturePolicy capture;

    std::size_t upstream_idle_per_host = 256;  // pooled idle origin connections, per worker thread
    std::chrono::milliseconds upstream_idle_expiry{60'000};
};

}  // namespace mproxy::proxy
