#pragma once
// Moves bytes from one TCP socket to another through a kernel pipe with splice(2), so that bulk
// bytes (tunnels, large bodies) never make the round trip through user space. Used only where
// mproxy does not need to look at the bytes: between two plain TCP streams.

#include <cstdint>
#include <limits>

#include "proxy/net/deadline.hpp"
#include "proxy/net/tcp_stream.hpp"

namespace mproxy::proxy {

struct SpliceResult {
    error_code read_error;   // from the source; eof is not an error, see `source_ended`
    error_code write_error;  // to the sink
    std::uint64_t bytes = 0; // reached the sink
    bool source_ended = false;
};

inline constexpr std::uint64_t splice_until_end = std::numeric_limits<std::uint64_t>::max();

// Relays `limit` bytes, or until the source ends. Each step that moves bytes pushes the deadline
// forward by `idle_timeout`. Wire bytes are counted on both streams.
awaitable<SpliceResult> splice_relay(TcpStream& source, TcpStream& sink, std::uint64_t limit, Deadline& deadline,
                                     steady_clock::duration idle_timeout);

}  // namespace mproxy::proxy
