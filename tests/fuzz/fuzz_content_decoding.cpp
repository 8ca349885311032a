// Captured bodies under each content coding, as an origin (or an attacker behind one) sends them:
// ContentDecoder must take any bytes, fail only with ContentDecodingError, stop where its reader
// stops, and give the same bytes whatever the size of the pieces it is read in.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/capture/content_decoding.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace mproxy::proxy;

namespace {

constexpr std::size_t bound = 1 << 20;  // what a reader takes at most (a bomb's end)

struct Decoded {
    std::string bytes;
    bool failed = false;
    bool clean = false;
};

Decoded decode(std::string_view coding, std::string_view coded, mproxy::fuzz::InputRandom* pieces) {
    Decoded out;
    try {
        ContentDecoder decoder(coding, coded);
        std::string buffer(64 * 1024, '\0');
        for (;;) {
            const std::size_t want = pieces ? 1 + pieces->next() % 4096 : buffer.size();
            const auto n = decoder.read(buffer.data(), want);
            FUZZ_CHECK(n <= want);
            if (n == 0) break;
            out.bytes.append(buffer, 0, n);
            if (out.bytes.size() >= bound) {
                out.bytes.resize(bound);
                return out;
            }
        }
        out.clean = decoder.ended_cleanly();
    } catch (const ContentDecodingError&) {
        out.failed = true;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const char* const codings[] = {"gzip", "deflate", "br", "zstd", "gzip, br"};
    const auto coding = codings[data[0] % 5];
    const std::string_view coded(reinterpret_cast<const char*>(data) + 1, size - 1);
    mproxy::fuzz::InputRandom random(coded);
    const auto whole = decode(coding, coded, nullptr);
    const auto pieces = decode(coding, coded, &random);
    if (whole.failed || pieces.failed) {
        // The same bytes fail however they are read, though a failure may come after some output.
        FUZZ_CHECK(whole.failed == pieces.failed);
        const auto common = std::min(whole.bytes.size(), pieces.bytes.size());
        FUZZ_CHECK(whole.bytes.compare(0, common, pieces.bytes, 0, common) == 0);
        return 0;
    }
    FUZZ_CHECK(whole.bytes == pieces.bytes);
    if (whole.bytes.size() < bound) FUZZ_CHECK(whole.clean == pieces.clean);
    return 0;
}
