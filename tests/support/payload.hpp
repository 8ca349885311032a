#pragma once
// Deterministic test payloads and a streaming hash, shared by origins and clients, so a body can be
// produced and checked piecewise at any offset without holding it in memory.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mproxy::test {

// Byte `offset` of the reference payload: the same value for every producer and consumer.
std::uint8_t payload_byte(std::uint64_t offset);

// Fills `out` with the payload bytes starting at `offset`.
void fill_payload(std::uint64_t offset, std::span<char> out);

// FNV-1a 64, fed piece by piece.
class BodyHash {
  public:
    void update(std::span<const char> bytes);
    void update(const std::string& bytes) {
        update(std::span<const char>(bytes.data(), bytes.size()));
    }
    std::uint64_t value() const { return state_; }
    std::string hex() const;

  private:
    std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

// Hash of the first `size` bytes of the reference payload.
std::string payload_hash_hex(std::uint64_t size);

// Counts and hashes a body as it streams past.
struct BodyDigest {
    std::uint64_t bytes = 0;
    BodyHash hash;
    void update(std::span<const char> piece) {
        bytes += piece.size();
        hash.update(piece);
    }
};

}  // namespace mproxy::test
