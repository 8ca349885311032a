#pragma once
// How long a message body is (RFC 9112 section 6.3), decided from its head alone. Requests with
// framing two parties could read differently are refused here: that is where smuggling starts.

#include <cstdint>
#include <string_view>

#include "proxy/http/http_head.hpp"
#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {

struct BodyFraming {
    enum class Kind { none, length, chunked, until_close };
    Kind kind = Kind::none;
    std::uint64_t length = 0;  // for Kind::length

    static BodyFraming none() { return {}; }
    static BodyFraming of_length(std::uint64_t n) { return n == 0 ? none() : BodyFraming{Kind::length, n}; }
    static BodyFraming chunked() { return {Kind::chunked, 0}; }
    static BodyFraming until_close() { return {Kind::until_close, 0}; }
};

// A request body: Content-Length, chunked Transfer-Encoding, or none. Both headers, differing or
// malformed Content-Length values, or a Transfer-Encoding whose last coding is not chunked: 400.
ParseResult<BodyFraming> request_body_framing(const RequestHead& head);

// A response body, which also depends on the request method and the status. Ambiguous framing is a
// failure (the caller answers 502): relaying it would hand the ambiguity to the client.
ParseResult<BodyFraming> response_body_framing(const ResponseHead& head, std::string_view request_method);

}  // namespace mproxy::proxy
