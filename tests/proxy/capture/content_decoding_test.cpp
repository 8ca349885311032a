// ContentDecoder against bodies coded by the real libraries origins use (zlib, brotli, zstd).

#include "proxy/capture/content_decoding.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/support/compression.hpp"

namespace mproxy::proxy {
namespace {

using namespace mproxy::test;

// Text that compresses, but not to nothing: words drawn at random.
std::string sample_text(std::size_t size) {
    static const char* words[] = {"proxy ", "exchange ", "header ", "body ", "capture ", "\n"};
    std::mt19937 random(7);
    std::string text;
    while (text.size() < size) text += words[random() % 6];
    text.resize(size);
    return text;
}

// Everything the decoder yields, read in pieces of `piece` bytes.
std::string decode_all(ContentDecoder& decoder, std::size_t piece = 1000) {
    std::string out, buffer(piece, '\0');
    while (const auto n = decoder.read(buffer.data(), buffer.size())) out.append(buffer, 0, n);
    return out;
}

struct Coding {
    const char* name;
    std::string (*encode)(std::string_view);
};

class EachCoding : public testing::TestWithParam<Coding> {};

TEST_P(EachCoding, DecodesWhatTheLibraryEncodedInPiecesOfAnySize) {
    const auto text = sample_text(3 << 20);
    const auto coded = GetParam().encode(text);
    ASSERT_LT(coded.size(), text.size() / 2);
    for (std::size_t piece : {std::size_t{1}, std::size_t{777}, std::size_t{1} << 20}) {
        if (piece == 1 && text.size() > (64 << 10)) {
            // A byte at a time over the first 64 KiB only: the rest would take minutes.
            ContentDecoder decoder(GetParam().name, coded);
            std::string first;
            char c;
            while (first.size() < (64 << 10) && decoder.read(&c, 1) == 1) first.push_back(c);
            EXPECT_EQ(first, text.substr(0, first.size()));
            EXPECT_EQ(first.size(), std::size_t{64} << 10);
            continue;
        }
        ContentDecoder decoder(GetParam().name, coded);
        EXPECT_EQ(decode_all(decoder, piece), text) << "pieces of " << piece;
        EXPECT_TRUE(decoder.ended_cleanly());
    }
}

TEST_P(EachCoding, ATruncatedBodyYieldsItsPrefixAndSaysItDidNotEnd) {
    const auto text = sample_text(1 << 20);
    const auto coded = GetParam().encode(text);
    ContentDecoder decoder(GetParam().name, std::string_view(coded).substr(0, coded.size() / 2));
    const auto decoded = decode_all(decoder);
    EXPECT_GT(decoded.size(), 0u);
    EXPECT_LT(decoded.size(), text.size());
    EXPECT_EQ(decoded, text.substr(0, decoded.size()));
    EXPECT_FALSE(decoder.ended_cleanly());
}

TEST_P(EachCoding, BytesThatAreNotTheCodingAreAnErrorNamingIt) {
    const std::string garbage(4096, 'x');
    ContentDecoder decoder(GetParam().name, garbage);
    try {
        decode_all(decoder);
        ADD_FAILURE() << "no error";
    } catch (const ContentDecodingError& e) {
        const std::string name = GetParam().name;
        EXPECT_NE(std::string(e.what()).find(name == "x-gzip" ? "gzip" : name), std::string::npos)
            << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Codings, EachCoding,
    testing::Values(Coding{"gzip", gzip_encode}, Coding{"x-gzip", gzip_encode},
                    Coding{"deflate", [](std::string_view d) { return deflate_encode(d); }},
                    Coding{"br", brotli_encode}, Coding{"zstd", zstd_encode}),
    [](const auto& info) {
        std::string name = info.param.name;
        return name == "x-gzip" ? std::string("x_gzip") : name;
    });

TEST(ContentDecoding, RawDeflateAsSomeServersSendItIsDecodedToo) {
    const auto text = sample_text(100'000);
    const auto coded = deflate_encode(text, true);
    ContentDecoder decoder("deflate", coded);
    EXPECT_EQ(decode_all(decoder), text);
    EXPECT_TRUE(decoder.ended_cleanly());
}

TEST(ContentDecoding, AListOfCodingsIsUndoneInReverseOrderCaseInsensitively) {
    const auto text = sample_text(200'000);
    const auto coded = brotli_encode(gzip_encode(text));  // gzip applied first, then br
    ContentDecoder decoder("GZIP, Br", coded);
    EXPECT_EQ(decode_all(decoder), text);
    EXPECT_TRUE(decoder.ended_cleanly());
    EXPECT_TRUE(can_decode("gzip, br"));
}

TEST(ContentDecoding, GzipMembersOneAfterAnotherAreOneBody) {
    const auto coded = gzip_encode("first member, ") + gzip_encode("second member");
    ContentDecoder decoder("gzip", coded);
    EXPECT_EQ(decode_all(decoder), "first member, second member");
    EXPECT_TRUE(decoder.ended_cleanly());
}

TEST(ContentDecoding, IdentityAndNoEncodingPassTheBytesThrough) {
    for (const char* encoding : {"", "identity"}) {
        ContentDecoder decoder(encoding, "as is");
        EXPECT_EQ(decode_all(decoder), "as is");
        EXPECT_TRUE(decoder.ended_cleanly());
    }
}

TEST(ContentDecoding, AnUnknownCodingIsRefusedByName) {
    EXPECT_FALSE(can_decode("gzip, compress"));
    try {
        ContentDecoder decoder("gzip, compress", "x");
        ADD_FAILURE() << "accepted";
    } catch (const ContentDecodingError& e) {
        EXPECT_NE(std::string(e.what()).find("\"compress\""), std::string::npos) << e.what();
    }
}

TEST(ContentDecoding, ABombIsReadInBoundedPiecesAsFarAsTheReaderWants) {
    // 10 GiB of zeros in a few hundred KiB: the reader stops at its bound (here 64 MiB); what the
    // decoder holds meanwhile is its window, not the decoded size.
    const auto bomb = zstd_zero_bomb(std::uint64_t{10} << 30);
    EXPECT_LT(bomb.size(), 400u << 10);
    ContentDecoder decoder("zstd", bomb);
    std::string buffer(64 << 10, '\1');
    std::uint64_t total = 0;
    while (total < (64u << 20)) {
        const auto n = decoder.read(buffer.data(), buffer.size());
        ASSERT_GT(n, 0u);
        ASSERT_EQ(buffer.find_first_not_of('\0', 0), n < buffer.size() ? n : std::string::npos);
        total += n;
    }
    EXPECT_EQ(total, 64u << 20);
}

}  // namespace
}  // namespace mproxy::proxy
