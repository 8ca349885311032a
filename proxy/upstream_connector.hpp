#pragma once
// Opens a connection to an origin: resolve (Asio runs getaddrinfo off the I/O thread), refuse
// addresses that are the proxy itself, connect within the timeout. Failures come back as the status
// and reason the client should see.

#include <memory>
#include <variant>

#include "proxy/authority.hpp"
#include "proxy/head_parser.hpp"
#include "proxy/loop_guard.hpp"
#include "proxy/upstream_connection.hpp"

namespace mproxy::proxy {

using ConnectResult = std::variant<std::unique_ptr<UpstreamConnection>, HttpFailure>;

awaitable<ConnectResult> connect_upstream(const Authority& authority, steady_clock::duration timeout,
                                          const LoopGuard& loop_guard);

}  // namespace mproxy::proxy
