#include "proxy/http1/head_reader.hpp"

#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {

namespace {
constexpr std::size_t head_read_chunk = 16 * 1024;

void drop_leading_empty_lines(beast::flat_buffer& buffer) {
    auto bytes = buffered_bytes(buffer);
    std::size_t drop = 0;
    while (bytes.size() - drop >= 2 && bytes[drop] == '\r' && bytes[drop + 1] == '\n') drop += 2;
    buffer.consume(drop);
}
}  // namespace

awaitable<HeadRead> read_head(ByteStream& stream, beast::flat_buffer& buffer, std::size_t limit) {
    std::size_t searched = 0;
    for (;;) {
        drop_leading_empty_lines(buffer);
        const auto bytes = buffered_bytes(buffer);
        const auto end = find_head_end(bytes, searched);
        // A head over the limit is refused whether it arrived whole or in pieces.
        if (end != std::string_view::npos)
            co_return end > limit ? HeadRead{HeadRead::Status::too_large, 0, {}} : HeadRead{HeadRead::Status::ok, end, {}};
        if (bytes.size() > limit) co_return HeadRead{HeadRead::Status::too_large, 0, {}};

        const bool had_bytes = buffer.size() > 0;
        auto [ec, n] = co_await stream.read_some(buffer.prepare(head_read_chunk));
        buffer.commit(n);
        if (ec) {
            if (ec == asio::error::eof)
                co_return HeadRead{had_bytes ? HeadRead::Status::truncated : HeadRead::Status::closed, 0, ec};
            co_return HeadRead{HeadRead::Status::failed, 0, ec};
        }
    }
}

}  // namespace mproxy::proxy
