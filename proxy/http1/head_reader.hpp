#pragma once
// Reads one message head from a stream into its buffer, leaving any bytes after it (the start of a
// body, a pipelined request) in the buffer for whoever reads next.

#include <string_view>

#include "proxy/net/byte_stream.hpp"

namespace mproxy::proxy {

struct HeadRead {
    enum class Status {
        ok,          // a complete head is at the start of the buffer
        closed,      // clean end of stream before any byte of a head
        truncated,   // end of stream inside a head
        too_large,   // more than the limit without the empty line that ends a head
        failed,      // transport error (including a watchdog closing the stream)
    };
    Status status = Status::ok;
    std::size_t head_size = 0;  // bytes of the head, its empty line included
    error_code ec;

    std::string_view head(const beast::flat_buffer& buffer) const {
        return {static_cast<const char*>(buffer.data().data()), head_size};
    }
};

// Leading empty lines are dropped (RFC 9112 section 2.2).
awaitable<HeadRead> read_head(ByteStream& stream, beast::flat_buffer& buffer, std::size_t limit);

inline std::string_view buffered_bytes(const beast::flat_buffer& buffer) {
    return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace mproxy::proxy
