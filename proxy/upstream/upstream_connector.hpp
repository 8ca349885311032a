#pragma once
// Opens a connection to an origin: resolve (Asio runs getaddrinfo off the I/O thread), refuse
// addresses that are the proxy itself, connect within the timeout. Failures come back as the status
// and reason the client should see.

#include <memory>
#include <string_view>
#include <variant>

#include "proxy/http/authority.hpp"
#include "proxy/http1/head_parser.hpp"
#include "proxy/upstream/loop_guard.hpp"
#include "proxy/upstream/upstream_connection.hpp"

namespace mproxy::proxy {

// Why an origin could not be reached, for the upstream connect failure counters.
enum class ConnectFailureCause { resolve, loop, refused, unreachable, timeout };
inline constexpr std::size_t connect_failure_cause_count = 5;
std::string_view to_string(ConnectFailureCause cause);

struct ConnectFailure {
    HttpFailure answer;  // what the client is told
    ConnectFailureCause cause;
};

using ConnectResult = std::variant<std::unique_ptr<UpstreamConnection>, ConnectFailure>;

awaitable<ConnectResult> connect_upstream(const Authority& authority, steady_clock::duration timeout,
                                          const LoopGuard& loop_guard);

}  // namespace mproxy::proxy
