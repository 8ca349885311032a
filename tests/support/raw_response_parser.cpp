#include "tests/support/raw_response_parser.hpp"

#include <cctype>
#include <charconv>

namespace mproxy::test {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> find_field(const Fields& fields, std::string_view name) {
    for (const auto& [n, v] : fields)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Parses "name: value" lines of a block that ends with an empty line; false if malformed.
bool parse_fields(std::string_view block, Fields& out) {
    while (!block.empty()) {
        const auto eol = block.find("\r\n");
        const auto line = block.substr(0, eol);
        block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
        if (line.empty()) continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return false;
        out.emplace_back(std::string(line.substr(0, colon)),
                         std::string(trim(line.substr(colon + 1))));
    }
    return true;
}

bool contains_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::optional<std::string> RawResponse::header(std::string_view name) const {
    return find_field(headers, name);
}

std::size_t RawResponse::count_headers(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& field : headers) n += iequals(field.first, name) ? 1 : 0;
    return n;
}

std::optional<std::string> RawResponse::trailer(std::string_view name) const {
    return find_field(trailers, name);
}

ParseResult parse_response(std::string_view input, bool head_request, bool peer_closed) {
    ParseResult result;
    auto malformed = [&](std::string why) {
        result.outcome = ParseOutcome::malformed;
        result.error = std::move(why);
        return result;
    };
    const auto head_end = input.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
        if (peer_closed && !input.empty()) return malformed("connection closed inside a head");
        return result;
    }
    const auto head = input.substr(0, head_end + 2);
    const auto status_end = head.find("\r\n");
    const auto status_line = head.substr(0, status_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
        return malformed("bad status line: " + std::string(status_line));
    auto& response = result.response;
    const auto code = status_line.substr(9, 3);
    if (std::from_chars(code.data(), code.data() + 3, response.status).ec != std::errc())
        return malformed("bad status code");
    response.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : "");
    if (!parse_fields(head.substr(status_end + 2), response.headers))
        return malformed("bad header line");

    std::size_t pos = head_end + 4;
    const int status = response.status;
    const bool no_body =
        head_request || (status >= 100 && status < 200) || status == 204 || status == 304;
    const auto transfer_encoding = response.header("Transfer-Encoding");
    const auto content_length = response.header("Content-Length");
    if (no_body) {
        // nothing
    } else if (transfer_encoding && contains_token(*transfer_encoding, "chunked")) {
        for (;;) {
            const auto line_end = input.find("\r\n", pos);
            if (line_end == std::string_view::npos)
                return peer_closed ? malformed("closed in chunk size") : result;
            auto size_text = input.substr(pos, line_end - pos);
            size_text = size_text.substr(0, size_text.find(';'));
            std::size_t size = 0;
            auto [ptr, ec] =
                std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
            if (ec != std::errc() || ptr != size_text.data() + size_text.size())
                return malformed("bad chunk size: " + std::string(size_text));
            pos = line_end + 2;
            if (size == 0) {
                const auto trailer_end =
                    input.find("\r\n", pos) == pos ? pos : input.find("\r\n\r\n", pos);
                if (trailer_end == std::string_view::npos)
                    return peer_closed ? malformed("closed in trailers") : result;
                if (trailer_end == pos) {
                    pos += 2;
                } else {
                    if (!parse_fields(input.substr(pos, trailer_end + 2 - pos), response.trailers))
                        return malformed("bad trailer line");
                    pos = trailer_end + 4;
                }
                break;
            }
            if (input.size() < pos + size + 2)
                return peer_closed ? malformed("closed in chunk data") : result;
            response.body.append(input.substr(pos, size));
            if (input.substr(pos + size, 2) != "\r\n")
                return malformed("chunk data not followed by CRLF");
            pos += size + 2;
        }
    } else if (content_length) {
        std::size_t length = 0;
        const auto& text = *content_length;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (ec != std::errc() || ptr != text.data() + text.size())
            return malformed("bad Content-Length");
        if (input.size() < pos + length)
            return peer_closed ? malformed("closed before Content-Length bytes") : result;
        response.body.assign(input.substr(pos, length));
        pos += length;
    } else {
        if (!peer_closed) return result;
        response.body.assign(input.substr(pos));
        response.close_delimited = true;
        pos = input.size();
    }
    response.wire.assign(input.substr(0, pos));
    result.consumed = pos;
    result.outcome = ParseOutcome::complete;
    return result;
}

}  // namespace mproxy::test
