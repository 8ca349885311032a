#pragma once
// What belongs to one connection and must not be forwarded (RFC 9110 section 7.6.1), and what a
// message says about keeping its connection open.

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

// The proxy's pseudonym in Via (RFC 9110 section 7.6.3).
inline constexpr std::string_view via_value = "1.1 mproxy";

// True when the message lets its connection stay open after it (HTTP/1.1 unless "close",
// HTTP/1.0 only with "keep-alive"). Proxy-Connection counts as Connection for clients that send it.
bool keeps_alive(const HeaderFields& fields, unsigned version_minor);

// A WebSocket opening handshake request (RFC 6455 section 4.1).
bool is_websocket_upgrade(const RequestHead& head);

// Removes Connection and every field it names, Proxy-Connection, Keep-Alive, TE, Upgrade (kept with
// "Connection: Upgrade" when `keep_websocket_upgrade`), and Proxy-Authorization /
// Proxy-Authenticate. Content-Length and Transfer-Encoding stay, because mproxy relays the body
// bytes as they are framed, and so does Host, even when a Connection header names it.
void strip_hop_by_hop(HeaderFields& fields, bool keep_websocket_upgrade);

}  // namespace mproxy::proxy
