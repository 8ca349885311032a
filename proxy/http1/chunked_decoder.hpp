#pragma once
// Finds where a chunked body ends (RFC 9112 section 7.1) while its bytes pass through unchanged,
// chunk extensions and trailer fields included. It validates the framing as it goes, so a bad chunk
// size stops the relay instead of being forwarded for the next hop to interpret.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {

class ChunkedDecoder {
public:
    // Where chunk data lies within the bytes given to consume(): what is left of a body once its
    // framing, extensions and trailers are taken out (for an HTTP/1.0 recipient, which must not
    // receive chunked framing).
    struct Span {
        std::size_t offset, length;
    };
    // Looks at the next bytes of the stream; returns how many of them belong to the body. Fewer
    // than given means the body ended (done()) or the framing is bad (failed()). With `payload`,
    // the chunk data among the consumed bytes is appended to it as spans of `bytes`.
    std::size_t consume(std::string_view bytes, std::vector<Span>* payload = nullptr);

    // From now on, the trailer section's field lines ("Name: value\r\n" each) are appended to
    // `lines` as they pass (for the capture; bounded like the section itself).
    void keep_trailers(std::string* lines) { trailer_lines_ = lines; }

    bool done() const { return state_ == State::done; }
    bool failed() const { return state_ == State::failed; }
    const char* error() const { return error_; }
    std::uint64_t payload_bytes() const { return payload_; }  // chunk data only, without framing

private:
    enum class State {
        size,           // hex digits of a chunk size
        size_ws,        // optional whitespace after the size (tolerated by RFC 9112 as BWS before ';')
        extension,      // chunk-ext up to CR
        size_lf,        // LF after the chunk-size line
        data,           // chunk data
        data_cr,        // CR after chunk data
        data_lf,        // LF after chunk data
        trailer_start,  // start of a trailer line or of the final CRLF
        trailer_line,   // inside a trailer field line
        trailer_lf,     // LF ending a trailer field line
        final_lf,       // LF of the final empty line
        done,
        failed,
    };
    std::size_t fail(const char* why, std::size_t consumed);

    State state_ = State::size;
    std::uint64_t remaining_ = 0;  // chunk size being read, then data left in the chunk
    unsigned size_digits_ = 0;
    std::size_t line_bytes_ = 0;     // bytes in the current extension or trailer section
    std::uint64_t payload_ = 0;
    const char* error_ = "";
    std::string* trailer_lines_ = nullptr;
};

}  // namespace mproxy::proxy
