#include "tests/support/compression.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace mproxy::test {

namespace {
std::string deflate_with(std::string_view data, int window_bits) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
    return out;
}
}  // namespace

std::string gzip_encode(std::string_view data) {
    return deflate_with(data, 15 + 16);
}

std::string deflate_encode(std::string_view data, bool raw) {
    return deflate_with(data, raw ? -15 : 15);
}

std::string brotli_encode(std::string_view data) {
    std::string out(BrotliEncoderMaxCompressedSize(data.size()), '\0');
    std::size_t size = out.size();
    if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                               reinterpret_cast<const std::uint8_t*>(data.data()), &size,
                               reinterpret_cast<std::uint8_t*>(out.data())))
        throw std::runtime_error("BrotliEncoderCompress");
    out.resize(size);
    return out;
}

std::string zstd_encode(std::string_view data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    const auto size = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    if (ZSTD_isError(size)) throw std::runtime_error(ZSTD_getErrorName(size));
    out.resize(size);
    return out;
}

std::string zstd_zero_bomb(std::uint64_t decoded_bytes) {
    // RFC 8878: a frame header with no content size and a 128 KiB window, then RLE blocks of
    // 128 KiB zeros (3 header bytes and the byte to repeat), the last one flagged.
    constexpr std::uint32_t block = 128 * 1024;
    std::string out = {'\x28', '\xb5', '\x2f', '\xfd'};  // the magic number, little-endian
    out.push_back('\x00');  // frame header descriptor: no content size, no checksum, a window byte
    out.push_back(static_cast<char>((17 - 10) << 3));  // window 2^17
    for (std::uint64_t left = decoded_bytes; left > 0;) {
        const auto size = static_cast<std::uint32_t>(std::min<std::uint64_t>(left, block));
        left -= size;
        const std::uint32_t header = (left == 0 ? 1u : 0u) | (1u << 1) | (size << 3);  // RLE
        out.push_back(static_cast<char>(header & 0xff));
        out.push_back(static_cast<char>((header >> 8) & 0xff));
        out.push_back(static_cast<char>((header >> 16) & 0xff));
        out.push_back('\0');
    }
    return out;
}

}  // namespace mproxy::test
