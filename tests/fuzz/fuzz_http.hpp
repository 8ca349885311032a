#pragma once
// Invariants shared by the request and response fuzz targets.

#include <string>
#include <string_view>

#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http/http_head.hpp"
#include "proxy/http1/chunked_decoder.hpp"
#include "proxy/http1/head_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace mproxy::fuzz {

using namespace mproxy::proxy;

// find_head_end over the bytes arriving in pieces must agree with one look at all of them.
inline std::size_t head_end_checked(std::string_view bytes, InputRandom& random) {
    std::size_t searched = 0;
    const auto whole = find_head_end(bytes, searched);

    std::size_t pieces_searched = 0;
    std::size_t pieces_end = std::string_view::npos;
    for (std::size_t available = 0; available < bytes.size();) {
        available += random.piece(bytes.size() - available);
        pieces_end = find_head_end(bytes.substr(0, available), pieces_searched);
        if (pieces_end != std::string_view::npos) break;
        FUZZ_CHECK(pieces_searched == available);
    }
    FUZZ_CHECK(pieces_end == whole);

    if (whole != std::string_view::npos) {
        FUZZ_CHECK(whole >= 4 && whole <= bytes.size());
        FUZZ_CHECK(bytes.substr(whole - 4, 4) == "\r\n\r\n");
        FUZZ_CHECK(bytes.substr(0, whole - 1).find("\r\n\r\n") == std::string_view::npos);
    } else {
        FUZZ_CHECK(bytes.find("\r\n\r\n") == std::string_view::npos);
    }
    return whole;
}

inline bool is_token_char(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Whatever the parser accepted is a well-formed field section.
inline void check_fields(const HeaderFields& fields) {
    for (const auto& f : fields.all()) {
        FUZZ_CHECK(!f.name.empty());
        for (unsigned char c : f.name) FUZZ_CHECK(is_token_char(c));
        for (unsigned char c : f.value) FUZZ_CHECK(c >= 0x20 ? c != 0x7f : c == '\t');
        if (!f.value.empty()) {
            FUZZ_CHECK(f.value.front() != ' ' && f.value.front() != '\t');
            FUZZ_CHECK(f.value.back() != ' ' && f.value.back() != '\t');
        }
    }
}

inline void check_same_fields(const HeaderFields& a, const HeaderFields& b) {
    FUZZ_CHECK(a.all().size() == b.all().size());
    for (std::size_t i = 0; i < a.all().size(); ++i) {
        FUZZ_CHECK(a.all()[i].name == b.all()[i].name);
        FUZZ_CHECK(a.all()[i].value == b.all()[i].value);
    }
}

// strip_hop_by_hop leaves no connection-level field behind, and never touches body framing.
inline void check_strip(const HeaderFields& original) {
    HeaderFields stripped = original;
    strip_hop_by_hop(stripped, false);
    for (const char* name : {"connection", "proxy-connection", "keep-alive", "te", "upgrade",
                             "proxy-authorization", "proxy-authenticate"})
        FUZZ_CHECK(stripped.count(name) == 0);
    FUZZ_CHECK(stripped.count("content-length") == original.count("content-length"));
    FUZZ_CHECK(stripped.count("transfer-encoding") == original.count("transfer-encoding"));
    FUZZ_CHECK(stripped.all().size() <= original.all().size());
    // Idempotent: stripping again removes nothing more.
    HeaderFields twice = stripped;
    strip_hop_by_hop(twice, false);
    check_same_fields(twice, stripped);
}

struct DecodeOutcome {
    std::size_t consumed = 0;
    bool done = false;
    bool failed = false;
    std::uint64_t payload = 0;
    std::string error;
};

inline DecodeOutcome outcome_of(const ChunkedDecoder& d, std::size_t consumed) {
    return {consumed, d.done(), d.failed(), d.payload_bytes(), d.error()};
}

// A chunked body fed in pieces must end at the same byte, in the same state, as when fed at once.
inline void check_chunked(std::string_view body, InputRandom& random) {
    ChunkedDecoder whole;
    const auto whole_consumed = whole.consume(body);
    const auto one_shot = outcome_of(whole, whole_consumed);
    FUZZ_CHECK(one_shot.consumed <= body.size());
    FUZZ_CHECK(!(one_shot.done && one_shot.failed));
    FUZZ_CHECK(one_shot.payload <= one_shot.consumed);
    if (!one_shot.done && !one_shot.failed) FUZZ_CHECK(one_shot.consumed == body.size());
    if (one_shot.done) {
        FUZZ_CHECK(one_shot.consumed >= 5);
        FUZZ_CHECK(body.substr(one_shot.consumed - 2, 2) == "\r\n");
    }
    if (one_shot.failed) FUZZ_CHECK(!one_shot.error.empty());

    ChunkedDecoder split;
    std::size_t consumed = 0;
    while (consumed < body.size()) {
        const auto piece = body.substr(consumed, random.piece(body.size() - consumed));
        const auto took = split.consume(piece);
        FUZZ_CHECK(took <= piece.size());
        consumed += took;
        if (took < piece.size()) {
            FUZZ_CHECK(split.done() || split.failed());
            break;
        }
        if (split.done() || split.failed()) break;
    }
    const auto pieces = outcome_of(split, consumed);
    FUZZ_CHECK(pieces.consumed == one_shot.consumed);
    FUZZ_CHECK(pieces.done == one_shot.done);
    FUZZ_CHECK(pieces.failed == one_shot.failed);
    FUZZ_CHECK(pieces.payload == one_shot.payload);
    FUZZ_CHECK(pieces.error == one_shot.error);

    // A finished decoder takes nothing more.
    if (one_shot.done || one_shot.failed) FUZZ_CHECK(whole.consume(body) == 0);
}

}  // namespace mproxy::fuzz
