#include "proxy/http1/head_parser.hpp"

#include <array>

namespace mproxy::proxy {

namespace {

// RFC 9110 section 5.6.2 tchar.
constexpr std::array<bool, 256> make_token_table() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}
constexpr auto token_table = make_token_table();

}  // namespace

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!token_table[c]) return false;
    return true;
}

namespace {

// field-value characters: visible ASCII, obs-text, SP and HTAB. CR, LF and NUL never.
bool is_field_value(std::string_view s) {
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

// request-target: visible ASCII only (no spaces, no controls, no obs-text).
bool is_target(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Splits `head` into lines ending in CRLF. Returns false on a bare CR or LF.
class LineReader {
public:
    explicit LineReader(std::string_view head) : rest_(head) {}
    // Next line without its CRLF; false at the end or on a malformed line end.
    bool next(std::string_view& line, bool& malformed) {
        malformed = false;
        if (rest_.empty()) return false;
        const auto lf = rest_.find('\n');
        if (lf == std::string_view::npos || lf == 0 || rest_[lf - 1] != '\r') {
            malformed = true;
            return false;
        }
        line = rest_.substr(0, lf - 1);
        if (line.find('\r') != std::string_view::npos) {
            malformed = true;
            return false;
        }
        rest_.remove_prefix(lf + 1);
        return true;
    }

private:
    std::string_view rest_;
};

HttpFailure bad(std::string reason) { return HttpFailure{400, std::move(reason)}; }

bool parse_version(std::string_view text, unsigned& minor, HttpFailure& failure) {
    if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || text[6] != '.' || text[5] < '0' ||
        text[5] > '9' || text[7] < '0' || text[7] > '9') {
        failure = bad("malformed HTTP version");
        return false;
    }
    if (text[5] != '1' || text[7] > '1') {
        failure = HttpFailure{505, "only HTTP/1.0 and HTTP/1.1 are supported"};
        return false;
    }
    minor = static_cast<unsigned>(text[7] - '0');
    return true;
}

// Parses the field lines after the start line, up to and including the empty line.
bool parse_fields(LineReader& lines, HeaderFields& fields, HttpFailure& failure) {
    fields.all().reserve(16);  // one allocation for the usual head
    std::string_view line;
    bool malformed = false;
    while (lines.next(line, malformed)) {
        if (line.empty()) return true;
        if (line.front() == ' ' || line.front() == '\t') {
            failure = bad("obsolete line folding in header fields");
            return false;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            failure = bad("header field line without a colon");
            return false;
        }
        const auto name = line.substr(0, colon);
        if (!is_token(name)) {
            failure = bad("invalid header field name (whitespace before the colon or a bad character)");
            return false;
        }
        const auto value = trim_ows(line.substr(colon + 1));
        if (!is_field_value(value)) {
            failure = bad("invalid character in the value of header field " + std::string(name));
            return false;
        }
        fields.add(std::string(name), std::string(value));
    }
    failure = bad(malformed ? "malformed line ending (bare CR or LF)" : "header section not terminated");
    return false;
}

}  // namespace

std::size_t find_head_end(std::string_view bytes, std::size_t& searched) {
    // Resume three bytes back so a CRLFCRLF split between reads is still found.
    const std::size_t from = searched >= 3 ? searched - 3 : 0;
    const auto pos = bytes.find("\r\n\r\n", from);
    if (pos == std::string_view::npos) {
        searched = bytes.size();
        return std::string_view::npos;
    }
    return pos + 4;
}

ParseResult<RequestHead> parse_request_head(std::string_view head) {
    LineReader lines(head);
    std::string_view line;
    bool malformed = false;
    if (!lines.next(line, malformed)) return bad("malformed request line");

    // method SP request-target SP HTTP-version, exactly one space each.
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return bad("malformed request line");

    RequestHead req;
    const auto method = line.substr(0, sp1);
    const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!is_token(method)) return bad("invalid request method");
    if (!is_target(target)) return bad("invalid request target");
    HttpFailure failure;
    if (!parse_version(line.substr(sp2 + 1), req.version_minor, failure)) return failure;
    req.method = std::string(method);
    req.target = std::string(target);
    if (!parse_fields(lines, req.fields, failure)) return failure;
    // RFC 9112 section 3.2: HTTP/1.1 needs a Host; no request of any version may carry two.
    const auto hosts = req.fields.count("host");
    if (hosts > 1) return bad("more than one Host header field");
    if (req.version_minor == 1 && hosts == 0) return bad("an HTTP/1.1 request needs a Host header field");
    return req;
}

ParseResult<ResponseHead> parse_response_head(std::string_view head) {
    LineReader lines(head);
    std::string_view line;
    bool malformed = false;
    if (!lines.next(line, malformed)) return bad("malformed status line");

    // HTTP-version SP 3DIGIT SP [reason-phrase]
    ResponseHead resp;
    HttpFailure failure;
    if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
        return bad("malformed status line");
    if (!parse_version(line.substr(0, 8), resp.version_minor, failure)) return failure;
    const auto code = line.substr(9, 3);
    for (char c : code)
        if (c < '0' || c > '9') return bad("malformed status code");
    resp.status = static_cast<unsigned>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
    if (resp.status < 100) return bad("status code out of range");
    const auto reason = line.size() > 13 ? line.substr(13) : std::string_view{};
    if (!is_field_value(reason)) return bad("invalid character in the reason phrase");
    resp.reason = std::string(reason);
    if (!parse_fields(lines, resp.fields, failure)) return failure;
    return resp;
}

}  // namespace mproxy::proxy
