#include "proxy/session/body_relay.hpp"

#include <algorithm>
#include <vector>

#include "proxy/http1/chunked_decoder.hpp"
#include "proxy/http1/head_reader.hpp"
#include "proxy/session/splice_relay.hpp"

namespace mproxy::proxy {

namespace {
constexpr std::size_t relay_chunk = 64 * 1024;
// Below this, setting up a kernel pipe costs more than copying through user space saves.
constexpr std::uint64_t splice_threshold = 256 * 1024;

void touch(const RelayOptions& options) {
    if (options.deadline) options.deadline->expires_after(options.idle_timeout);
}
// The rest of a large, length-framed or close-delimited body between two TCP sockets goes through
// the kernel: those bodies need no parsing. Returns false when splicing does not apply.
awaitable<bool> try_splice(ByteStream& source, const beast::flat_buffer& source_buffer, ByteStream& sink,
                           const BodyFraming& framing, std::uint64_t remaining, const RelayOptions& options,
                           BodyRelay& result) {
    const bool long_enough = framing.kind == BodyFraming::Kind::until_close ||
                             (framing.kind == BodyFraming::Kind::length && remaining >= splice_threshold);
    if (!long_enough || source_buffer.size() > 0 || !options.deadline) co_return false;
    if (options.tap && !options.tap->full()) co_return false;
    auto* from = dynamic_cast<TcpStream*>(&source);
    auto* to = dynamic_cast<TcpStream*>(&sink);
    if (!from || !to) co_return false;

    const auto limit = framing.kind == BodyFraming::Kind::length ? remaining : splice_until_end;
    const auto r = co_await splice_relay(*from, *to, limit, *options.deadline, options.idle_timeout);
    result.bytes += r.bytes;
    result.read_error = r.read_error;
    result.write_error = r.write_error;
    if (!r.read_error && !r.write_error) {
        if (framing.kind == BodyFraming::Kind::until_close || r.bytes == remaining)
            result.complete = true;
        else
            result.read_error = asio::error::eof;  // the source ended inside the body
    }
    co_return true;
}

}  // namespace

awaitable<BodyRelay> relay_body(ByteStream& source, beast::flat_buffer& source_buffer, ByteStream& sink,
                                BodyFraming framing, std::string prefix, const RelayOptions& options) {
    BodyRelay result;
    ChunkedDecoder chunked;
    std::uint64_t remaining = framing.length;
    const bool is_chunked = framing.kind == BodyFraming::Kind::chunked;
    const bool dechunk = options.dechunk && is_chunked;
    BodyTap* const tap = options.tap;
    if (tap && is_chunked) chunked.keep_trailers(&tap->trailer_lines());
    std::vector<ChunkedDecoder::Span> payload;  // dechunk, tap: the chunk data of what is buffered
    std::vector<asio::const_buffer> gathered;
    // After the bytes went out: the payload among the `take` body bytes at the front of `buffered`
    // (the decoder's spans when chunked) goes to the tap, until it is full.
    const auto feed_tap = [&](std::string_view buffered, std::size_t take) {
        if (!tap || tap->full()) return;
        if (!is_chunked) return tap->take(buffered.substr(0, take));
        for (const auto& span : payload) tap->take(buffered.substr(span.offset, span.length));
    };
    const auto ended = [&]() -> BodyRelay& {
        result.payload_bytes = is_chunked ? chunked.payload_bytes() : result.bytes;
        return result;
    };

    for (;;) {
        // How much of what is buffered belongs to the body, and whether the body ends with it.
        const auto buffered = buffered_bytes(source_buffer);
        std::size_t take = 0;
        bool body_done = false;
        switch (framing.kind) {
            case BodyFraming::Kind::none:
                body_done = true;
                break;
            case BodyFraming::Kind::length:
                take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffered.size()));
                remaining -= take;
                body_done = remaining == 0;
                break;
            case BodyFraming::Kind::chunked:
                payload.clear();
                take = chunked.consume(buffered,
                                       dechunk || (tap && !tap->full()) ? &payload : nullptr);
                if (chunked.failed()) result.framing_error = chunked.error();
                body_done = chunked.done();
                break;
            case BodyFraming::Kind::until_close:
                take = buffered.size();
                break;
        }

        if (dechunk) {
            gathered.clear();
            std::size_t out_bytes = 0;
            if (!prefix.empty()) gathered.push_back(asio::buffer(prefix));
            for (const auto& span : payload) {
                gathered.push_back(asio::buffer(buffered.data() + span.offset, span.length));
                out_bytes += span.length;
            }
            if (!gathered.empty()) {
                auto [ec, n] = co_await sink.write(std::span<const asio::const_buffer>(gathered));
                if (ec) {
                    result.write_error = ec;
                    co_return ended();
                }
                prefix.clear();
                result.bytes += out_bytes;
            }
            feed_tap(buffered, take);
            source_buffer.consume(take);
            if (take > 0) touch(options);
        } else if (!prefix.empty() || take > 0) {
            const std::array<asio::const_buffer, 2> out{asio::buffer(prefix), asio::buffer(buffered.data(), take)};
            auto [ec, n] = co_await sink.write(std::span<const asio::const_buffer>(out));
            if (ec) {
                result.write_error = ec;
                co_return ended();
            }
            prefix.clear();
            feed_tap(buffered, take);
            source_buffer.consume(take);
            result.bytes += take;
            touch(options);
        }
        if (result.framing_error) co_return ended();
        if (body_done) {
            result.complete = true;
            co_return ended();
        }
        if (co_await try_splice(source, source_buffer, sink, framing, remaining, options, result))
            co_return ended();

        auto [ec, n] = co_await source.read_some(source_buffer.prepare(relay_chunk));
        source_buffer.commit(n);
        if (ec) {
            if (ec == asio::error::eof && framing.kind == BodyFraming::Kind::until_close)
                result.complete = true;
            else
                result.read_error = ec;
            co_return ended();
        }
        touch(options);
    }
}

}  // namespace mproxy::proxy
