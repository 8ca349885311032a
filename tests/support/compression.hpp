#pragma once
// Content codings made the way origins make them (zlib, libbrotlienc, libzstd), for tests of what
// mproxy decodes.

#include <cstdint>
#include <string>
#include <string_view>

namespace mproxy::test {

std::string gzip_encode(std::string_view data);
// "deflate" as RFC 9110 means it (zlib's format), or the raw deflate stream some servers send.
std::string deflate_encode(std::string_view data, bool raw = false);
std::string brotli_encode(std::string_view data);
std::string zstd_encode(std::string_view data);
// A zstd frame of `decoded_bytes` zeros, a few hundred KiB per 10 GiB: a decompression bomb.
std::string zstd_zero_bomb(std::uint64_t decoded_bytes);

}  // namespace mproxy::test
