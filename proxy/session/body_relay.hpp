#pragma once
// Moves one message body from a stream to another as it is framed, in bounded chunks: nothing is
// read from the source until the previous chunk was written to the sink, so a slow reader slows the
// sender and memory stays at one buffer per direction whatever the body's size.

#include <string>

#include "proxy/capture/body_tap.hpp"
#include "proxy/http1/body_framing.hpp"
#include "proxy/net/byte_stream.hpp"
#include "proxy/net/deadline.hpp"

namespace mproxy::proxy {

struct BodyRelay {
    error_code read_error;            // from the source (eof when it ended inside the body)
    error_code write_error;           // to the sink
    const char* framing_error = nullptr;  // the body's chunked framing was bad
    std::uint64_t bytes = 0;          // body bytes written, chunk framing included unless removed
    std::uint64_t payload_bytes = 0;  // of them, the payload: chunk framing and trailers left out
    bool complete = false;            // the whole body reached the sink

    bool failed() const { return read_error || write_error || framing_error; }
};

struct RelayOptions {
    Deadline* deadline = nullptr;            // pushed forward after each step that made progress
    steady_clock::duration idle_timeout{};
    // A chunked body goes out as its chunk data alone, framing and trailers dropped: for an
    // HTTP/1.0 recipient (RFC 9112 section 7.1), to which the body is then close-delimited.
    bool dechunk = false;
    // Copies the payload's first bytes aside as they are relayed (the capture); a body is spliced
    // only once the tap is full.
    BodyTap* tap = nullptr;
};

// Sends `prefix` (usually the message's head) and then the body, with the first body bytes already
// buffered in `source_buffer` in the same write. Bytes past the body stay in `source_buffer`.
awaitable<BodyRelay> relay_body(ByteStream& source, beast::flat_buffer& source_buffer, ByteStream& sink,
                                BodyFraming framing, std::string prefix, const RelayOptions& options);

}  // namespace mproxy::proxy
