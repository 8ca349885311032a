#pragma once
// Splits raw bytes from a socket into HTTP/1.1 responses, exactly as they came: the tests use it
// to see interim responses, trailers, framing, and what follows a response on the same connection.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mproxy::test {

struct RawResponse {
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::string body;                                          // de-chunked
    std::vector<std::pair<std::string, std::string>> trailers;
    std::string wire;              // every byte of this response
    bool close_delimited = false;  // body ended by the connection closing

    // First value of a header (case-insensitive name), if any.
    std::optional<std::string> header(std::string_view name) const;
    std::size_t count_headers(std::string_view name) const;
    std::optional<std::string> trailer(std::string_view name) const;
};

enum class ParseOutcome { complete, need_more, malformed };

struct ParseResult {
    ParseOutcome outcome = ParseOutcome::need_more;
    RawResponse response;
    std::size_t consumed = 0;  // bytes of `input` this response took
    std::string error;         // for malformed
};

// Parses one response from the front of `input`. `head_request`: the response has no body.
// `peer_closed`: no more bytes will come, so a body without framing ends at the end of `input`.
ParseResult parse_response(std::string_view input, bool head_request, bool peer_closed);

bool iequals(std::string_view a, std::string_view b);

}  // namespace mproxy::test
