// An origin's bytes: response head, response framing for a request method, then a chunked body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/body_framing.hpp"
#include "tests/fuzz/fuzz_http.hpp"

using namespace mproxy::fuzz;

namespace {

constexpr std::string_view methods[] = {"GET", "HEAD", "CONNECT", "POST"};

void check_accepted(const ResponseHead& resp) {
    FUZZ_CHECK(resp.version_minor <= 1);
    FUZZ_CHECK(resp.status >= 100 && resp.status <= 999);
    for (unsigned char c : resp.reason) FUZZ_CHECK(c >= 0x20 ? c != 0x7f : c == '\t');
    check_fields(resp.fields);

    std::string again;
    append_head(again, resp);
    const auto reparsed = parse_response_head(again);
    FUZZ_CHECK(std::holds_alternative<ResponseHead>(reparsed));
    const auto& resp2 = std::get<ResponseHead>(reparsed);
    FUZZ_CHECK(resp2.version_minor == resp.version_minor);
    FUZZ_CHECK(resp2.status == resp.status);
    FUZZ_CHECK(resp2.reason == resp.reason);
    check_same_fields(resp2.fields, resp.fields);

    check_strip(resp.fields);
    (void)keeps_alive(resp.fields, resp.version_minor);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    InputRandom random(bytes);

    const auto head_end = head_end_checked(bytes, random);
    if (head_end == std::string_view::npos) return 0;
    const auto parsed = parse_response_head(bytes.substr(0, head_end));
    if (const auto* failure = std::get_if<HttpFailure>(&parsed)) {
        FUZZ_CHECK(failure->status == 400 || failure->status == 505);
        FUZZ_CHECK(!failure->reason.empty());
        return 0;
    }
    const auto& resp = std::get<ResponseHead>(parsed);
    check_accepted(resp);

    // Every method against the same head: the framing rules depend on it.
    bool chunked_checked = false;
    for (const auto method : methods) {
        const auto framing = response_body_framing(resp, method);
        const bool bodiless = resp.status < 200 || resp.status == 204 || resp.status == 304 || method == "HEAD" ||
                              (method == "CONNECT" && resp.status < 300);
        if (const auto* failure = std::get_if<HttpFailure>(&framing)) {
            FUZZ_CHECK(failure->status == 502);
            FUZZ_CHECK(!bodiless);
            continue;
        }
        const auto& body = std::get<BodyFraming>(framing);
        if (bodiless) FUZZ_CHECK(body.kind == BodyFraming::Kind::none);
        if (body.kind == BodyFraming::Kind::length) FUZZ_CHECK(body.length > 0 && resp.fields.find("content-length"));
        if (body.kind == BodyFraming::Kind::chunked) {
            FUZZ_CHECK(resp.fields.has_token("transfer-encoding", "chunked"));
            if (!chunked_checked) check_chunked(bytes.substr(head_end), random);
            chunked_checked = true;
        }
        if (!bodiless && !resp.fields.find("content-length") && !resp.fields.find("transfer-encoding"))
            FUZZ_CHECK(body.kind == BodyFraming::Kind::until_close);
    }
    return 0;
}
