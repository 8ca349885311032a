#include "proxy/http1/body_framing.hpp"

#include <optional>

namespace mproxy::proxy {

namespace {

// Every Content-Length field and list element must be the same run of digits.
std::optional<std::uint64_t> content_length(const HeaderFields& fields, bool& malformed) {
    std::optional<std::uint64_t> length;
    malformed = false;
    for (const auto& f : fields.all()) {
        if (!iequals(f.name, "content-length")) continue;
        bool element_seen = false;
        for_each_list_element(f.value, [&](std::string_view element) {
            element_seen = true;
            std::uint64_t value = 0;
            if (element.size() > 19) malformed = true;
            for (char c : element) {
                if (c < '0' || c > '9') malformed = true;
                value = value * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (length && *length != value) malformed = true;
            length = value;
        });
        if (!element_seen) malformed = true;
    }
    return malformed ? std::nullopt : length;
}

// True when the final transfer coding is "chunked" and it is not applied twice.
bool chunked_is_final(const HeaderFields& fields, bool& chunked_elsewhere) {
    std::string_view last;
    int chunked_count = 0;
    for (const auto& f : fields.all()) {
        if (!iequals(f.name, "transfer-encoding")) continue;
        for_each_list_element(f.value, [&](std::string_view coding) {
            last = coding;
            if (iequals(coding, "chunked")) ++chunked_count;
        });
    }
    const bool final_chunked = iequals(last, "chunked");
    chunked_elsewhere = chunked_count > (final_chunked ? 1 : 0);
    return final_chunked;
}

}  // namespace

ParseResult<BodyFraming> request_body_framing(const RequestHead& head) {
    const bool has_te = head.fields.find("transfer-encoding") != nullptr;
    const bool has_cl = head.fields.find("content-length") != nullptr;
    if (has_te && has_cl)
        return HttpFailure{400, "both Content-Length and Transfer-Encoding: ambiguous request framing"};
    if (has_te) {
        if (head.version_minor == 0) return HttpFailure{400, "Transfer-Encoding in an HTTP/1.0 request"};
        bool chunked_elsewhere = false;
        if (!chunked_is_final(head.fields, chunked_elsewhere) || chunked_elsewhere)
            return HttpFailure{400, "Transfer-Encoding of a request must end with a single chunked"};
        return BodyFraming::chunked();
    }
    if (has_cl) {
        bool malformed = false;
        const auto length = content_length(head.fields, malformed);
        if (!length) return HttpFailure{400, "invalid or conflicting Content-Length"};
        return BodyFraming::of_length(*length);
    }
    return BodyFraming::none();
}

ParseResult<BodyFraming> response_body_framing(const ResponseHead& head, std::string_view request_method) {
    if (head.status < 200 || head.status == 204 || head.status == 304 || request_method == "HEAD")
        return BodyFraming::none();
    if (request_method == "CONNECT" && head.status < 300) return BodyFraming::none();
    const bool has_te = head.fields.find("transfer-encoding") != nullptr;
    const bool has_cl = head.fields.find("content-length") != nullptr;
    if (has_te && has_cl)
        return HttpFailure{502, "origin sent both Content-Length and Transfer-Encoding"};
    if (has_te) {
        // RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing; read
        // to the end of the connection, which then is not reused.
        if (head.version_minor == 0) return BodyFraming::until_close();
        bool chunked_elsewhere = false;
        if (chunked_is_final(head.fields, chunked_elsewhere) && !chunked_elsewhere)
            return BodyFraming::chunked();
        if (chunked_elsewhere) return HttpFailure{502, "origin applied chunked more than once"};
        return BodyFraming::until_close();
    }
    if (has_cl) {
        bool malformed = false;
        const auto length = content_length(head.fields, malformed);
        if (!length) return HttpFailure{502, "origin sent an invalid or conflicting Content-Length"};
        return BodyFraming::of_length(*length);
    }
    return BodyFraming::until_close();
}

}  // namespace mproxy::proxy
