// A client's bytes: request head, body framing, then the chunked body if there is one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/authority.hpp"
#include "proxy/http1/body_framing.hpp"
#include "tests/fuzz/fuzz_http.hpp"

using namespace mproxy::fuzz;

namespace {

void check_accepted(const RequestHead& req, std::string_view head) {
    FUZZ_CHECK(!req.method.empty());
    for (unsigned char c : req.method) FUZZ_CHECK(is_token_char(c));
    FUZZ_CHECK(!req.target.empty());
    for (unsigned char c : req.target) FUZZ_CHECK(c > 0x20 && c < 0x7f);
    FUZZ_CHECK(req.version_minor <= 1);
    FUZZ_CHECK(req.fields.count("host") <= 1);
    if (req.version_minor == 1) FUZZ_CHECK(req.fields.count("host") == 1);
    check_fields(req.fields);

    // Serialising and parsing again gives the same head (compared by parts: whitespace around
    // values is normalised on the way out).
    std::string again;
    append_head(again, req);
    std::size_t searched = 0;
    FUZZ_CHECK(find_head_end(again, searched) == again.size());
    const auto reparsed = parse_request_head(again);
    FUZZ_CHECK(std::holds_alternative<RequestHead>(reparsed));
    const auto& req2 = std::get<RequestHead>(reparsed);
    FUZZ_CHECK(req2.method == req.method);
    FUZZ_CHECK(req2.target == req.target);
    FUZZ_CHECK(req2.version_minor == req.version_minor);
    check_same_fields(req2.fields, req.fields);
    FUZZ_CHECK(again.size() <= head.size() + 2 * req.fields.all().size());

    check_strip(req.fields);
    (void)keeps_alive(req.fields, req.version_minor);
    if (is_websocket_upgrade(req)) FUZZ_CHECK(req.method == "GET" && req.version_minor == 1);

    // Where the request goes: whatever parses names a host and a non-zero port.
    if (const auto target = parse_http_absolute_target(req.target)) {
        FUZZ_CHECK(!target->authority.host.empty() && target->authority.port != 0);
        FUZZ_CHECK(!target->origin_form.empty() && target->origin_form.front() == '/');
    }
    if (req.method == "CONNECT") {
        if (const auto authority = parse_connect_authority(req.target)) FUZZ_CHECK(authority->port != 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    InputRandom random(bytes);

    const auto head_end = head_end_checked(bytes, random);
    if (head_end == std::string_view::npos) {
        // No head: the bytes still make a decent chunked body to throw at the decoder.
        check_chunked(bytes, random);
        return 0;
    }
    const auto head = bytes.substr(0, head_end);
    const auto parsed = parse_request_head(head);
    if (const auto* failure = std::get_if<HttpFailure>(&parsed)) {
        FUZZ_CHECK(failure->status == 400 || failure->status == 505);
        FUZZ_CHECK(!failure->reason.empty());
        return 0;
    }
    const auto& req = std::get<RequestHead>(parsed);
    check_accepted(req, head);

    const auto framing = request_body_framing(req);
    if (const auto* failure = std::get_if<HttpFailure>(&framing)) {
        FUZZ_CHECK(failure->status == 400);
        FUZZ_CHECK(req.fields.find("content-length") || req.fields.find("transfer-encoding"));
        return 0;
    }
    const auto& body = std::get<BodyFraming>(framing);
    FUZZ_CHECK(body.kind != BodyFraming::Kind::until_close);  // a request body always has an end
    if (body.kind == BodyFraming::Kind::length) FUZZ_CHECK(body.length > 0);
    if (body.kind == BodyFraming::Kind::chunked) {
        FUZZ_CHECK(req.version_minor == 1 && !req.fields.find("content-length"));
        check_chunked(bytes.substr(head_end), random);
    }
    if (!req.fields.find("content-length") && !req.fields.find("transfer-encoding"))
        FUZZ_CHECK(body.kind == BodyFraming::Kind::none);
    return 0;
}
