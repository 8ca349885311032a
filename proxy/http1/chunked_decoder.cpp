#include "proxy/http1/chunked_decoder.hpp"

#include <algorithm>

namespace mproxy::proxy {

namespace {
// Extensions and trailers are metadata, not payload: bound them so a peer cannot make us read
// an endless "line".
constexpr std::size_t max_extension_bytes = 4096;
constexpr std::size_t max_trailer_bytes = 16 * 1024;
constexpr unsigned max_size_digits = 15;  // 2^60 bytes: far beyond any body, no overflow

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
bool is_line_char(unsigned char c) { return c >= 0x20 ? c != 0x7f : c == '\t'; }
}  // namespace

std::size_t ChunkedDecoder::fail(const char* why, std::size_t consumed) {
    state_ = State::failed;
    error_ = why;
    return consumed;
}

std::size_t ChunkedDecoder::consume(std::string_view bytes, std::vector<Span>* payload) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const char c = bytes[i];
        switch (state_) {
            case State::size: {
                const int v = hex_value(c);
                if (v >= 0) {
                    if (++size_digits_ > max_size_digits) return fail("chunk size too large", i);
                    remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(v);
                } else if (size_digits_ == 0) {
                    return fail("bad chunk size", i);
                } else if (c == ';') {
                    state_ = State::extension;
                    line_bytes_ = 0;
                } else if (c == ' ' || c == '\t') {
                    state_ = State::size_ws;
                } else if (c == '\r') {
                    state_ = State::size_lf;
                } else {
                    return fail("bad chunk size", i);
                }
                ++i;
                break;
            }
            case State::size_ws:
                if (c == ';') {
                    state_ = State::extension;
                    line_bytes_ = 0;
                } else if (c == '\r') {
                    state_ = State::size_lf;
                } else if (c != ' ' && c != '\t') {
                    return fail("bad chunk size", i);
                }
                ++i;
                break;
            case State::extension:
                if (c == '\r') {
                    state_ = State::size_lf;
                } else if (!is_line_char(static_cast<unsigned char>(c))) {
                    return fail("bad character in chunk extension", i);
                } else if (++line_bytes_ > max_extension_bytes) {
                    return fail("chunk extension too long", i);
                }
                ++i;
                break;
            case State::size_lf:
                if (c != '\n') return fail("bad line ending after chunk size", i);
                ++i;
                size_digits_ = 0;
                if (remaining_ == 0) {
                    state_ = State::trailer_start;
                    line_bytes_ = 0;
                } else {
                    state_ = State::data;
                }
                break;
            case State::data: {
                const auto take = static_cast<std::size_t>(
                    std::min<std::uint64_t>(remaining_, bytes.size() - i));
                if (payload) payload->push_back({i, take});
                i += take;
                remaining_ -= take;
                payload_ += take;
                if (remaining_ == 0) state_ = State::data_cr;
                break;
            }
            case State::data_cr:
                if (c != '\r') return fail("chunk data longer than its size", i);
                state_ = State::data_lf;
                ++i;
                break;
            case State::data_lf:
                if (c != '\n') return fail("bad line ending after chunk data", i);
                state_ = State::size;
                ++i;
                break;
            case State::trailer_start:
                if (c == '\r') {
                    state_ = State::final_lf;
                } else if (c == ' ' || c == '\t') {
                    return fail("obsolete line folding in trailer", i);
                } else if (!is_line_char(static_cast<unsigned char>(c))) {
                    return fail("bad character in trailer", i);
                } else {
                    state_ = State::trailer_line;
                }
                if (++line_bytes_ > max_trailer_bytes) return fail("trailer section too large", i);
                if (trailer_lines_ && state_ != State::final_lf) trailer_lines_->push_back(c);
                ++i;
                break;
            case State::trailer_line:
                if (c == '\r') {
                    state_ = State::trailer_lf;
                } else if (!is_line_char(static_cast<unsigned char>(c))) {
                    return fail("bad character in trailer", i);
                }
                if (++line_bytes_ > max_trailer_bytes) return fail("trailer section too large", i);
                if (trailer_lines_ && state_ != State::final_lf) trailer_lines_->push_back(c);
                ++i;
                break;
            case State::trailer_lf:
                if (c != '\n') return fail("bad line ending in trailer", i);
                if (trailer_lines_) trailer_lines_->push_back(c);
                state_ = State::trailer_start;
                ++i;
                break;
            case State::final_lf:
                if (c != '\n') return fail("bad line ending at end of chunked body", i);
                state_ = State::done;
                return i + 1;
            case State::done:
            case State::failed:
                return i;
        }
    }
    return i;
}

}  // namespace mproxy::proxy
