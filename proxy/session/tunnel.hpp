#pragma once
// A blind relay between two streams (CONNECT tunnels, WebSocket after 101). Each direction is its
// own coroutine; an end of stream on one side is passed on as a half-close while the other
// direction keeps flowing, and the tunnel ends when both directions have ended.

#include <functional>
#include <string>
#include <string_view>

#include "proxy/net/byte_stream.hpp"
#include "proxy/net/deadline.hpp"

namespace mproxy::proxy {

struct TunnelResult {
    std::uint64_t client_to_upstream = 0;
    std::uint64_t upstream_to_client = 0;
    std::string error;  // empty when both directions ended cleanly
};

// Observers of what each direction relays, handed each piece after it was written (a capture of
// WebSocket frames). A tunnel with taps relays through user space: no splice.
struct TunnelTaps {
    std::function<void(std::string_view)> client_to_upstream, upstream_to_client;
};

// Bytes already buffered on either side are sent first. The deadline is pushed forward by traffic
// in either direction, so a long one-way transfer does not look idle.
awaitable<TunnelResult> run_tunnel(ByteStream& client, beast::flat_buffer& client_buffer, ByteStream& upstream,
                                   beast::flat_buffer& upstream_buffer, Deadline& deadline,
                                   steady_clock::duration idle_timeout, const TunnelTaps* taps = nullptr);

}  // namespace mproxy::proxy
