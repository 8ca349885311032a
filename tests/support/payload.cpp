#include "tests/support/payload.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace mproxy::test {

namespace {
std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
}  // namespace

std::uint8_t payload_byte(std::uint64_t offset) {
    return static_cast<std::uint8_t>(mix(offset / 8) >> (8 * (offset % 8)));
}

void fill_payload(std::uint64_t offset, std::span<char> out) {
    std::size_t i = 0;
    while (i < out.size()) {
        const std::uint64_t at = offset + i;
        std::uint64_t word = mix(at / 8) >> (8 * (at % 8));
        for (std::uint64_t k = at % 8; k < 8 && i < out.size(); ++k, ++i) {
            out[i] = static_cast<char>(word & 0xff);
            word >>= 8;
        }
    }
}

void BodyHash::update(std::span<const char> bytes) {
    std::uint64_t h = state_;
    for (char c : bytes) {
        h ^= static_cast<std::uint8_t>(c);
        h *= 0x100000001b3ULL;
    }
    state_ = h;
}

std::string BodyHash::hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(state_));
    return text;
}

std::string payload_hash_hex(std::uint64_t size) {
    BodyHash hash;
    std::vector<char> block(64 * 1024);
    for (std::uint64_t done = 0; done < size;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - done));
        fill_payload(done, std::span<char>(block.data(), n));
        hash.update(std::span<const char>(block.data(), n));
        done += n;
    }
    return hash.hex();
}

}  // namespace mproxy::test
