#include "proxy/capture/content_decoding.hpp"

#include <brotli/decode.h>
#include <zconf.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

// One link of the chain: yields its decoded bytes, reading from the stage below it.
struct ContentDecoder::Stage {
    virtual ~Stage() = default;
    virtual std::size_t read(char* out, std::size_t max) = 0;
    virtual bool ended_cleanly() const = 0;
};

namespace {

constexpr std::size_t input_buffer = 64 * 1024;

// The coded bytes themselves.
class CodedBytes final : public ContentDecoder::Stage {
  public:
    explicit CodedBytes(std::string_view bytes) : rest_(bytes) {}
    std::size_t read(char* out, std::size_t max) override {
        const auto n = std::min(max, rest_.size());
        std::memcpy(out, rest_.data(), n);
        rest_.remove_prefix(n);
        return n;
    }
    bool ended_cleanly() const override { return true; }

  private:
    std::string_view rest_;
};

// A coding's decoder over the stage below: refills its input from there as it runs dry.
class CodingStage : public ContentDecoder::Stage {
  public:
    explicit CodingStage(std::unique_ptr<Stage> below) : below_(std::move(below)) {}
    bool ended_cleanly() const override { return ended_ && below_end_clean_; }

  protected:
    // The stream ended where its format says: the stage below is read to its own end, so that
    // it can tell whether it ended cleanly too (bytes after a stream's end are ignored, a few).
    void stream_ended() {
        done_ = ended_ = true;
        constexpr std::size_t tolerated = 1 << 20;
        std::size_t after = 0;
        while (!input_end_ && after < tolerated) {
            refill();
            after += available_;
        }
        available_ = 0;
        below_end_clean_ = input_end_ && below_->ended_cleanly();
    }

    // False at the end of the input below.
    bool refill() {
        if (input_end_) return false;
        available_ = below_->read(input_.data(), input_.size());
        next_ = input_.data();
        if (available_ == 0) input_end_ = true;
        return available_ > 0;
    }

    std::unique_ptr<Stage> below_;
    std::array<char, input_buffer> input_{};
    const char* next_ = input_.data();
    std::size_t available_ = 0;
    bool input_end_ = false;
    bool done_ = false;   // nothing more will come out
    bool ended_ = false;  // the coded stream ended where its format says
    bool below_end_clean_ = false;
};

// gzip and deflate (zlib's format; a raw deflate stream, which some servers send for "deflate",
// is recognised by its missing zlib header).
class InflateStage final : public CodingStage {
  public:
    InflateStage(std::unique_ptr<Stage> below, bool gzip)
        : CodingStage(std::move(below)), gzip_(gzip) {}
    ~InflateStage() override {
        if (started_) inflateEnd(&z_);
    }

    std::size_t read(char* out, std::size_t max) override {
        if (done_ || max == 0) return 0;
        if (!started_ && !start()) return 0;
        z_.next_out = reinterpret_cast<Bytef*>(out);
        z_.avail_out = static_cast<uInt>(std::min<std::size_t>(max, UINT32_MAX));
        const auto room = z_.avail_out;
        while (z_.avail_out == room) {
            if (z_.avail_in == 0 && refill()) {
                z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next_));
                z_.avail_in = static_cast<uInt>(available_);
            }
            // At the input's end, zlib may still hold output: inflate until it makes no progress.
            const int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END && gzip_ && next_member()) continue;
            if (rc == Z_STREAM_END) {
                stream_ended();
                break;
            }
            if (rc == Z_BUF_ERROR && z_.avail_in == 0 && input_end_) {
                done_ = true;  // the input ran out before the stream's end
                break;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                throw ContentDecodingError(std::string(gzip_ ? "gzip" : "deflate") + ": " +
                                           (z_.msg ? z_.msg : "invalid data"));
        }
        return room - z_.avail_out;
    }

  private:
    // RFC 1952 allows several members one after another: another one starts where this ended.
    bool next_member() {
        if (z_.avail_in == 0 && refill()) {
            z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next_));
            z_.avail_in = static_cast<uInt>(available_);
        }
        if (z_.avail_in == 0 || z_.next_in[0] != 0x1f) return false;
        return inflateReset(&z_) == Z_OK;
    }

    bool start() {
        if (!refill()) {
            done_ = true;
            return false;
        }
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next_));
        z_.avail_in = static_cast<uInt>(available_);
        int window = 15 + 32;  // gzip or zlib, told apart by their headers
        if (!gzip_) {
            const auto b0 = static_cast<unsigned char>(next_[0]);
            const auto b1 = available_ > 1 ? static_cast<unsigned char>(next_[1]) : 0;
            const bool zlib_header = (b0 & 0x0f) == 8 && (b0 * 256 + b1) % 31 == 0;
            if (!zlib_header) window = -15;
        }
        if (inflateInit2(&z_, window) != Z_OK) throw ContentDecodingError("zlib: out of memory");
        started_ = true;
        return true;
    }

    bool gzip_;
    bool started_ = false;
    z_stream z_{};
};

class BrotliStage final : public CodingStage {
  public:
    explicit BrotliStage(std::unique_ptr<Stage> below)
        : CodingStage(std::move(below)),
          state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
        if (!state_) throw ContentDecodingError("br: out of memory");
    }
    ~BrotliStage() override { BrotliDecoderDestroyInstance(state_); }

    std::size_t read(char* out, std::size_t max) override {
        if (done_ || max == 0) return 0;
        auto* next_out = reinterpret_cast<std::uint8_t*>(out);
        std::size_t avail_out = max;
        while (avail_out == max) {
            auto* next_in = reinterpret_cast<const std::uint8_t*>(next_);
            const auto rc = BrotliDecoderDecompressStream(state_, &available_, &next_in, &avail_out,
                                                          &next_out, nullptr);
            next_ = reinterpret_cast<const char*>(next_in);
            if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
                stream_ended();
                break;
            }
            if (rc == BROTLI_DECODER_RESULT_ERROR)
                throw ContentDecodingError(
                    std::string("br: ") +
                    BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_)));
            // It asks for input while it may still hold output (fuzzing found a stream that
            // does): only with nothing produced, no input left and nothing held is it the end.
            if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT && avail_out == max && !refill() &&
                !BrotliDecoderHasMoreOutput(state_)) {
                done_ = true;
                break;
            }
        }
        return max - avail_out;
    }

  private:
    BrotliDecoderState* state_;
};

class ZstdStage final : public CodingStage {
  public:
    explicit ZstdStage(std::unique_ptr<Stage> below)
        : CodingStage(std::move(below)), stream_(ZSTD_createDStream()) {
        if (!stream_) throw ContentDecodingError("zstd: out of memory");
        // RFC 8878 section 3 asks decoders of HTTP's zstd for windows up to 8 MiB at least;
        // beyond that a frame is refused rather than allowed to take the memory it asks for.
        ZSTD_DCtx_setParameter(stream_, ZSTD_d_windowLogMax, 23);
        decoded_.clear();  // its capacity stays: the one size every decode is given
    }
    ~ZstdStage() override { ZSTD_freeDStream(stream_); }

    // libzstd decides some things by the room it is given (a single-segment frame is checked
    // against its declared size when the whole of it fits the output): it always decodes into
    // the stage's own buffer of one size, so that the same bytes give the same output and the
    // same failure however the caller reads them (a fuzzer found a frame that failed when read
    // whole and not in small pieces).
    std::size_t read(char* out, std::size_t max) override {
        if (max == 0) return 0;
        if (decoded_at_ == decoded_.size()) {
            decoded_.resize(decoded_.capacity());
            decoded_.resize(decode(decoded_.data(), decoded_.size()));
            decoded_at_ = 0;
        }
        const auto n = std::min(max, decoded_.size() - decoded_at_);
        std::memcpy(out, decoded_.data() + decoded_at_, n);
        decoded_at_ += n;
        return n;
    }

  private:
    std::size_t decode(char* out, std::size_t max) {
        if (done_) return 0;
        ZSTD_outBuffer output{out, max, 0};
        while (output.pos == 0) {
            ZSTD_inBuffer input{};
            if (available_ == 0 && !refill()) {
                if (frame_complete_) {
                    stream_ended();
                    break;
                }
                // No more input, but the decoder may still hold output of what it was given.
                input = {nullptr, 0, 0};
            } else {
                input = {next_, available_, 0};
            }
            const auto rc = ZSTD_decompressStream(stream_, &output, &input);
            if (ZSTD_isError(rc))
                throw ContentDecodingError(std::string("zstd: ") + ZSTD_getErrorName(rc));
            next_ += input.pos;
            available_ -= input.pos;
            frame_complete_ = rc == 0;
            if (input_end_ && output.pos == 0) {
                done_ = true;  // the input ran out inside a frame
                ended_ = frame_complete_;
                below_end_clean_ = below_->ended_cleanly();
                break;
            }
        }
        return output.pos;
    }

    ZSTD_DStream* stream_;
    bool frame_complete_ = false;
    std::vector<char> decoded_ = std::vector<char>(64 * 1024);
    std::size_t decoded_at_ = 0;
};

// The codings in `list`, outermost (applied last) first: the order they are undone in.
std::vector<std::string> codings_to_undo(std::string_view list) {
    std::vector<std::string> codings;
    for_each_list_element(list, [&](std::string_view coding) {
        std::string lower(coding);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower != "identity") codings.push_back(std::move(lower));
    });
    std::reverse(codings.begin(), codings.end());
    return codings;
}

bool known(const std::string& coding) {
    return coding == "gzip" || coding == "x-gzip" || coding == "deflate" || coding == "br" ||
           coding == "zstd";
}

}  // namespace

ContentDecoder::ContentDecoder(std::string_view content_encoding, std::string_view coded)
    : last_(std::make_unique<CodedBytes>(coded)) {
    for (const auto& coding : codings_to_undo(content_encoding)) {
        if (coding == "gzip" || coding == "x-gzip")
            last_ = std::make_unique<InflateStage>(std::move(last_), true);
        else if (coding == "deflate")
            last_ = std::make_unique<InflateStage>(std::move(last_), false);
        else if (coding == "br")
            last_ = std::make_unique<BrotliStage>(std::move(last_));
        else if (coding == "zstd")
            last_ = std::make_unique<ZstdStage>(std::move(last_));
        else
            throw ContentDecodingError("content coding \"" + coding +
                                       "\" is not one mproxy decodes (gzip, deflate, br, zstd)");
    }
}

ContentDecoder::~ContentDecoder() = default;

std::size_t ContentDecoder::read(char* out, std::size_t max) {
    return last_->read(out, max);
}

bool ContentDecoder::ended_cleanly() const {
    return last_->ended_cleanly();
}

bool can_decode(std::string_view content_encoding) {
    const auto codings = codings_to_undo(content_encoding);
    return std::all_of(codings.begin(), codings.end(), known);
}

}  // namespace mproxy::proxy
