#include "proxy/http1/chunked_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {
namespace {

struct Outcome {
    std::size_t consumed = 0;
    bool done = false;
    bool failed = false;
    std::uint64_t payload = 0;
    std::string error;
};

Outcome one_shot(std::string_view bytes) {
    ChunkedDecoder d;
    Outcome o;
    o.consumed = d.consume(bytes);
    o.done = d.done();
    o.failed = d.failed();
    o.payload = d.payload_bytes();
    o.error = d.error();
    return o;
}

// Feeds `bytes` in pieces of `piece` bytes, stopping where the decoder stops taking them.
Outcome in_pieces(std::string_view bytes, std::size_t piece) {
    ChunkedDecoder d;
    Outcome o;
    while (o.consumed < bytes.size() && !d.done() && !d.failed()) {
        const auto part = bytes.substr(o.consumed, piece);
        const auto took = d.consume(part);
        o.consumed += took;
        if (took < part.size()) break;
    }
    o.done = d.done();
    o.failed = d.failed();
    o.payload = d.payload_bytes();
    o.error = d.error();
    return o;
}

void expect_same(const Outcome& a, const Outcome& b, std::size_t piece) {
    EXPECT_EQ(a.consumed, b.consumed) << "piece " << piece;
    EXPECT_EQ(a.done, b.done) << "piece " << piece;
    EXPECT_EQ(a.failed, b.failed) << "piece " << piece;
    EXPECT_EQ(a.payload, b.payload) << "piece " << piece;
    EXPECT_EQ(a.error, b.error) << "piece " << piece;
}

Outcome expect_done(std::string_view body) {
    const auto o = one_shot(body);
    EXPECT_TRUE(o.done) << o.error;
    EXPECT_FALSE(o.failed);
    EXPECT_EQ(o.consumed, body.size());
    return o;
}

Outcome expect_failed(std::string_view body) {
    const auto o = one_shot(body);
    EXPECT_TRUE(o.failed) << "body: " << body;
    EXPECT_FALSE(o.done);
    EXPECT_NE(o.error, "");
    return o;
}

TEST(ChunkedDecoder, EmptyBodyIsOnlyTheLastChunk) {
    const auto o = expect_done("0\r\n\r\n");
    EXPECT_EQ(o.payload, 0u);
}

TEST(ChunkedDecoder, WholeBodyWithSeveralChunks) {
    const auto o = expect_done("5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
    EXPECT_EQ(o.payload, 11u);
}

TEST(ChunkedDecoder, HexSizesInEitherCase) {
    const std::string body = "A\r\n" + std::string(10, 'x') + "\r\nf\r\n" + std::string(15, 'y') + "\r\n1F\r\n" +
                             std::string(31, 'z') + "\r\n0\r\n\r\n";
    EXPECT_EQ(expect_done(body).payload, 56u);
}

TEST(ChunkedDecoder, DataMayContainCrLfAndBinary) {
    const std::string body = std::string("6\r\n\r\n\0\xff\r\n\r\n0\r\n\r\n", 16);
    EXPECT_EQ(expect_done(body).payload, 6u);
}

TEST(ChunkedDecoder, StopsExactlyAtTheEndLeavingFollowingBytes) {
    const std::string body = "3\r\nabc\r\n0\r\n\r\n";
    const std::string stream = body + "GET /next HTTP/1.1\r\n";
    ChunkedDecoder d;
    EXPECT_EQ(d.consume(stream), body.size());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.payload_bytes(), 3u);
    // Once done it takes nothing more.
    EXPECT_EQ(d.consume("more"), 0u);
    EXPECT_TRUE(d.done());
}

TEST(ChunkedDecoder, IncompleteBodyIsNeitherDoneNorFailed) {
    for (std::string_view partial : {"", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r\n0\r\n", "0\r\n\r"}) {
        const auto o = one_shot(partial);
        EXPECT_FALSE(o.done) << partial;
        EXPECT_FALSE(o.failed) << partial;
        EXPECT_EQ(o.consumed, partial.size());
    }
}

TEST(ChunkedDecoder, PayloadCountsOnlyChunkData) {
    ChunkedDecoder d;
    d.consume("10;name=value\r\n0123456789");
    EXPECT_EQ(d.payload_bytes(), 10u);
    d.consume("abcdef\r\n0\r\nTrailer: x\r\n\r\n");
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.payload_bytes(), 16u);
}

TEST(ChunkedDecoder, ExtensionsAreAccepted) {
    expect_done("3;foo=bar\r\nabc\r\n0;last\r\n\r\n");
    expect_done("3;a=\"quoted; string\";b\r\nabc\r\n0\r\n\r\n");
    // Whitespace between the size and the extension (BWS) is tolerated.
    expect_done("3 ;a=b\r\nabc\r\n0\t\r\n\r\n");
}

TEST(ChunkedDecoder, TrailersAreAccepted) {
    const auto o = expect_done("3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 123\r\n\r\n");
    EXPECT_EQ(o.payload, 3u);
}

TEST(ChunkedDecoder, TrailerEndStillLeavesFollowingBytes) {
    const std::string body = "0\r\nA: b\r\n\r\n";
    ChunkedDecoder d;
    EXPECT_EQ(d.consume(body + "HTTP/1.1 200 OK\r\n"), body.size());
    EXPECT_TRUE(d.done());
}

TEST(ChunkedDecoder, ByteAtATimeEqualsOneShot) {
    const std::vector<std::string> bodies = {
        "5\r\nhello\r\n0\r\n\r\nNEXT",
        "3;ext=1\r\nabc\r\n0;x\r\nT: 1\r\nU: 2\r\n\r\nNEXT",
        "3 \t;e\r\nabc\r\n0\r\n\r\n",
        "5\r\nhelloX\r\n",           // data longer than its size
        "5\r\nhello\r\n0\r\n b\r\n\r\n",  // obs-fold in trailer
        "g\r\n",
        "5\nhello",
        "0\r\n\r\r",
    };
    for (const auto& body : bodies) {
        const auto whole = one_shot(body);
        for (std::size_t piece : {1u, 2u, 3u, 5u, 7u}) expect_same(whole, in_pieces(body, piece), piece);
    }
}

TEST(ChunkedDecoder, BadSizeFails) {
    for (std::string_view body : {"g\r\n", "\r\n", ";ext\r\n", "-1\r\n", "0x5\r\nhello\r\n", " 5\r\nhello\r\n",
                                  "5 5\r\nhello\r\n"}) {
        const auto o = expect_failed(body);
        EXPECT_NE(o.error.find("size"), std::string::npos) << body << ": " << o.error;
    }
}

TEST(ChunkedDecoder, FailureReportsTheOffsetOfTheBadByte) {
    const auto o = one_shot("5\r\nhello\r\nz");
    EXPECT_TRUE(o.failed);
    EXPECT_EQ(o.consumed, 10u);
}

TEST(ChunkedDecoder, BareLfAfterSizeFails) {
    expect_failed("5\nhello\r\n0\r\n\r\n");
    expect_failed("5\r\rhello");
}

TEST(ChunkedDecoder, MissingCrLfAfterDataFails) {
    const auto longer = expect_failed("5\r\nhelloX\r\n0\r\n\r\n");
    EXPECT_EQ(longer.consumed, 8u);
    expect_failed("5\r\nhello\n0\r\n\r\n");
    expect_failed("5\r\nhello\r0\r\n\r\n");
}

TEST(ChunkedDecoder, OversizedChunkSizeFails) {
    // Fifteen hex digits are allowed (2^60), a sixteenth is not, so the size can never overflow.
    const auto o = expect_failed("1000000000000000\r\n");
    EXPECT_NE(o.error.find("too large"), std::string::npos) << o.error;
    EXPECT_EQ(o.consumed, 15u);
    expect_failed("ffffffffffffffffffff\r\n");
    const auto fifteen = one_shot("fffffffffffffff\r\nabc");
    EXPECT_FALSE(fifteen.failed) << fifteen.error;
    EXPECT_EQ(fifteen.payload, 3u);
}

TEST(ChunkedDecoder, OverlongExtensionFails) {
    const std::string fits = "1;" + std::string(4095, 'e') + "\r\nx\r\n0\r\n\r\n";
    expect_done(fits);
    const auto o = expect_failed("1;" + std::string(4097, 'e') + "\r\nx\r\n0\r\n\r\n");
    EXPECT_NE(o.error.find("extension"), std::string::npos) << o.error;
}

TEST(ChunkedDecoder, ControlCharacterInExtensionFails) {
    expect_failed("1;a\x01\r\nx\r\n0\r\n\r\n");
    expect_failed("1;a\nx\r\n0\r\n\r\n");
}

TEST(ChunkedDecoder, OverlongTrailerSectionFails) {
    // The bound is on the whole trailer section, not on each line.
    std::string trailers;
    while (trailers.size() < 17 * 1024) trailers += "X-Padding: " + std::string(100, 'p') + "\r\n";
    const auto o = expect_failed("0\r\n" + trailers + "\r\n");
    EXPECT_NE(o.error.find("trailer"), std::string::npos) << o.error;
    expect_done("0\r\nX-Small: " + std::string(1000, 'p') + "\r\n\r\n");
}

TEST(ChunkedDecoder, ObsFoldInTrailerFails) {
    for (std::string_view body : {"0\r\nA: b\r\n c\r\n\r\n", "0\r\nA: b\r\n\tc\r\n\r\n", "0\r\n x\r\n\r\n"}) {
        const auto o = expect_failed(body);
        EXPECT_NE(o.error.find("folding"), std::string::npos) << o.error;
    }
}

TEST(ChunkedDecoder, BadLineEndingsInTrailerFail) {
    expect_failed("0\r\nA: b\n\r\n");
    expect_failed("0\r\nA: b\r\r\n");
    expect_failed("0\r\n\r\r");
    expect_failed("0\r\nA: \x01\r\n\r\n");
}

TEST(ChunkedDecoder, FailedDecoderTakesNothingMore) {
    ChunkedDecoder d;
    EXPECT_EQ(d.consume("x"), 0u);
    ASSERT_TRUE(d.failed());
    EXPECT_EQ(d.consume("0\r\n\r\n"), 0u);
    EXPECT_TRUE(d.failed());
    EXPECT_FALSE(d.done());
}

// The spans of chunk data, gathered piece by piece, are the body without its framing.
std::string payload_in_pieces(std::string_view bytes, std::size_t piece, bool& done) {
    ChunkedDecoder d;
    std::string payload;
    std::size_t consumed = 0;
    while (consumed < bytes.size() && !d.done() && !d.failed()) {
        const auto part = bytes.substr(consumed, piece);
        std::vector<ChunkedDecoder::Span> spans;
        const auto took = d.consume(part, &spans);
        for (const auto& span : spans) {
            EXPECT_LE(span.offset + span.length, took);
            payload.append(part.substr(span.offset, span.length));
        }
        consumed += took;
        if (took < part.size()) break;
    }
    done = d.done();
    return payload;
}

TEST(ChunkedDecoder, PayloadSpansAreTheBodyWithoutFramingExtensionsOrTrailers) {
    const std::string_view body =
        "5;name=value\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n0\r\nX-Sum: 12\r\n\r\n";
    for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
        bool done = false;
        EXPECT_EQ(payload_in_pieces(body, piece, done), "hello, world") << "pieces of " << piece;
        EXPECT_TRUE(done) << "pieces of " << piece;
    }
}

TEST(ChunkedDecoder, NoSpansAreGatheredUnlessAsked) {
    ChunkedDecoder d;
    EXPECT_EQ(d.consume("3\r\nabc\r\n0\r\n\r\n"), 13u);
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.payload_bytes(), 3u);
}

TEST(ChunkedDecoder, KeptTrailersAreTheFieldLinesWithoutTheFinalEmptyLine) {
    const std::string body = "3\r\nabc\r\n0\r\nX-Hash: 12\r\nX-Other:  two\r\n\r\nNEXT";
    for (std::size_t piece = 1; piece <= body.size(); ++piece) {
        ChunkedDecoder decoder;
        std::string lines;
        decoder.keep_trailers(&lines);
        std::size_t at = 0;
        while (at < body.size() && !decoder.done()) {
            const auto view = std::string_view(body).substr(at, piece);
            at += decoder.consume(view);
        }
        ASSERT_TRUE(decoder.done()) << piece;
        EXPECT_EQ(lines, "X-Hash: 12\r\nX-Other:  two\r\n") << piece;
        EXPECT_EQ(body.substr(at), "NEXT");
    }
    ChunkedDecoder none;
    std::string lines;
    none.keep_trailers(&lines);
    EXPECT_EQ(none.consume("0\r\n\r\n"), 5u);
    EXPECT_TRUE(none.done());
    EXPECT_EQ(lines, "");
}

}  // namespace
}  // namespace mproxy::proxy
