#pragma once
// Strict parsing of HTTP/1.x message heads (RFC 9112 sections 2-5). Anything a lenient peer could
// read differently from us is refused: bare LF line ends, obsolete line folding, whitespace before
// a colon, control characters. Pure functions over bytes, fuzzed by tests/fuzz.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

// Why a message cannot be handled, as the status and one-line reason a client is told.
struct HttpFailure {
    unsigned status = 400;
    std::string reason;
};

template <class T>
using ParseResult = std::variant<T, HttpFailure>;

// Length of the head at the start of `bytes`, its terminating empty line included, or npos when
// the head is not complete yet. `searched` carries how far a previous call looked, so that a head
// arriving in pieces is scanned once.
std::size_t find_head_end(std::string_view bytes, std::size_t& searched);

// An RFC 9110 token (a method, a field name): one or more tchar.
bool is_token(std::string_view text);

// `head` is exactly one head, from the first byte to the empty line that ends it.
ParseResult<RequestHead> parse_request_head(std::string_view head);
ParseResult<ResponseHead> parse_response_head(std::string_view head);

}  // namespace mproxy::proxy
