#pragma once
// Invariant checks for the fuzz targets. Not assert(): the targets are built with NDEBUG in
// optimised builds, and a broken invariant must stop libFuzzer with the input that broke it.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace mproxy::fuzz {

// A deterministic stream of numbers derived from the input, so a crashing input replays exactly
// and corpus files stay plain protocol text (no control bytes prepended for the fuzzer's choices).
class InputRandom {
public:
    explicit InputRandom(std::string_view bytes) {
        std::uint64_t h = 14695981039346656037ull;  // FNV-1a
        for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
        state_ = h;
    }
    std::uint64_t next() {  // splitmix64
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // A piece size in [1, max]; small sizes are favoured because boundaries are where bugs hide.
    std::size_t piece(std::size_t max) {
        const auto r = next();
        const std::size_t limit = (r & 3) == 0 ? max : ((r >> 2) & 1) ? 4 : 16;
        return 1 + static_cast<std::size_t>((r >> 8) % (limit < max ? limit : max));
    }

private:
    std::uint64_t state_;
};

}  // namespace mproxy::fuzz
