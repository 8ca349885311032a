#pragma once
// Undoing a captured body's Content-Encoding (gzip, deflate, br, zstd; a list of them in reverse
// order), as a stream read in pieces of the caller's size: memory stays a few buffers whatever the
// body decodes to, so a decompression bomb costs only the time to reach the caller's bound.

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mproxy::proxy {

// The coded bytes are not what their coding says (the message says which coding and why).
class ContentDecodingError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class ContentDecoder {
  public:
    struct Stage;

    // A decoder of `coded` (which must outlive it) under `content_encoding`, the field's value as
    // received. Throws ContentDecodingError naming a coding it does not know.
    ContentDecoder(std::string_view content_encoding, std::string_view coded);
    // The coded bytes must outlive the decoder: a temporary would not.
    ContentDecoder(std::string_view content_encoding, std::string&& coded) = delete;
    ContentDecoder(std::string_view content_encoding, const char* coded)
        : ContentDecoder(content_encoding, std::string_view(coded)) {}
    ~ContentDecoder();
    ContentDecoder(const ContentDecoder&) = delete;
    ContentDecoder& operator=(const ContentDecoder&) = delete;

    // Up to `max` decoded bytes into `out`; 0 at the end. Throws ContentDecodingError.
    std::size_t read(char* out, std::size_t max);
    // After read() returned 0: whether every coding's stream ended properly. False when the coded
    // bytes ran out first (a capture truncated at its cap ends like this).
    bool ended_cleanly() const;

  private:
    std::unique_ptr<Stage> last_;  // owns the chain down to the coded bytes
};

// True when every coding in the list is one ContentDecoder knows ("identity" and empty included).
bool can_decode(std::string_view content_encoding);

}  // namespace mproxy::proxy
