// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside Beast's request
// parser (basic_parser::content_length_unchecked); the proxy itself does not use that parser.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "tests/support/origin_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <limits>
#include <sstream>
#include <vector>

#include "tests/support/raw_response_parser.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using net::awaitable;
using net::use_awaitable;
constexpr auto tuple_awaitable = net::as_tuple(use_awaitable);
constexpr std::size_t piece_size = 64 * 1024;

namespace {

std::optional<std::uint64_t> number_after(std::string_view target, std::string_view prefix) {
    if (target.substr(0, prefix.size()) != prefix) return std::nullopt;
    const auto digits = target.substr(prefix.size());
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    return value;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

OriginSession::OriginSession(TestOrigin& origin, net::ip::tcp::socket socket)
    : origin_(origin), stream_(std::move(socket)) {
    stream_.socket().set_option(net::ip::tcp::no_delay(true));
}

awaitable<void> OriginSession::run() {
    for (;;) {
        Parser parser;
        parser.header_limit(1024 * 1024);
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // uploads of any size
        auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, tuple_awaitable);
        origin_.count_read(n);
        if (ec) co_return;  // closed, reset, or garbage: the tests check the other side
        ++origin_.requests_;
        origin_.log("request " + std::string(parser.get().target()));
        const After after = co_await dispatch(parser);
        if (after == After::gone) co_return;
        if (after == After::close) {
            beast::error_code ignored;
            stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

awaitable<OriginSession::After> OriginSession::dispatch(Parser& parser) {
    const auto& req = parser.get();
    // Routes by path: a query (which tests add to tell requests apart) does not change the route.
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (auto n = number_after(target, "/bytes/")) co_return co_await serve_bytes(parser, *n);
    if (auto n = number_after(target, "/chunked/")) co_return co_await serve_chunked(parser, *n);
    if (target == "/upload") co_return co_await serve_upload(parser);
    if (target == "/reject-413") co_return co_await serve_reject_413(parser);
    if (target == "/early-hints") co_return co_await serve_early_hints(parser);
    if (auto n = number_after(target, "/close-delimited/"))
        co_return co_await serve_close_delimited(*n);
    if (auto n = number_after(target, "/die-mid-body/")) co_return co_await serve_dying(*n, false);
    if (auto n = number_after(target, "/die-mid-chunked/"))
        co_return co_await serve_dying(*n, true);
    if (target == "/status/204") {
        co_await write_raw("HTTP/1.1 204 No Content\r\nX-Origin: test\r\n\r\n");
        co_return req.keep_alive() ? After::keep_alive : After::close;
    }
    if (target == "/status/304") {
        co_await write_raw(
            "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 5000\r\n\r\n");
        co_return req.keep_alive() ? After::keep_alive : After::close;
    }
    if (target == "/echo-head") {
        std::ostringstream head;
        head << req.base();
        co_await read_body(parser);
        co_return co_await serve_text(parser, 200, head.str());
    }
    if (starts_with(target, "/say/"))
        co_return co_await serve_text(parser, 200, std::string(target.substr(5)));
    if (target == "/ws" && websocket::is_upgrade(req)) co_return co_await serve_websocket(parser);
    co_await read_body(parser);
    co_return co_await serve_text(parser, 404, "no such route\n");
}

awaitable<OriginSession::After> OriginSession::serve_text(Parser& parser, unsigned status,
                                                          std::string body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(parser.get().keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream_, res, tuple_awaitable);
    origin_.count_written(n);
    co_return (!ec && res.keep_alive()) ? After::keep_alive : After::close;
}

awaitable<OriginSession::After> OriginSession::serve_bytes(Parser& parser, std::uint64_t size) {
    co_await read_body(parser);
    const bool head = parser.get().method() == http::verb::head;
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/octet-stream");
    res.keep_alive(parser.get().keep_alive());
    res.content_length(size);
    http::response_serializer<http::empty_body> serializer{res};
    auto [ec, n] = co_await http::async_write_header(stream_, serializer, tuple_awaitable);
    origin_.count_written(n);
    if (ec) co_return After::close;
    if (!head) co_await write_payload(size);
    co_return res.keep_alive() ? After::keep_alive : After::close;
}

awaitable<OriginSession::After> OriginSession::serve_chunked(Parser& parser, std::uint64_t size) {
    co_await read_body(parser);
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/octet-stream");
    res.set(http::field::trailer, "X-Body-Hash");
    res.keep_alive(parser.get().keep_alive());
    res.chunked(true);
    http::response_serializer<http::empty_body> serializer{res};
    auto [ec, n] = co_await http::async_write_header(stream_, serializer, tuple_awaitable);
    origin_.count_written(n);
    if (ec) co_return After::close;
    std::vector<char> piece(piece_size);
    BodyHash hash;
    for (std::uint64_t done = 0; done < size;) {
        const auto len =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), size - done));
        fill_payload(done, std::span<char>(piece.data(), len));
        hash.update(std::span<const char>(piece.data(), len));
        origin_.count_written(co_await net::async_write(
            stream_, http::make_chunk(net::buffer(piece.data(), len)), use_awaitable));
        done += len;
    }
    http::fields trailers;
    trailers.set("X-Body-Hash", hash.hex());
    origin_.count_written(
        co_await net::async_write(stream_, http::make_chunk_last(trailers), use_awaitable));
    co_return res.keep_alive() ? After::keep_alive : After::close;
}

bool OriginSession::body_bytes_waiting() {
    beast::error_code ec;
    return buffer_.size() > 0 || stream_.socket().available(ec) > 0;
}

awaitable<BodyDigest> OriginSession::read_body(Parser& parser) {
    BodyDigest digest;
    const std::string target(parser.get().target());
    std::vector<char> piece(piece_size);
    while (!parser.is_done()) {
        parser.get().body().data = piece.data();
        parser.get().body().size = piece.size();
        auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, tuple_awaitable);
        origin_.count_read(n);
        if (ec == http::error::need_buffer) ec = {};
        const std::size_t got = piece.size() - parser.get().body().size;
        if (got > 0 && digest.bytes == 0) origin_.log("first-body-byte " + target);
        digest.update(std::span<const char>(piece.data(), got));
        if (ec) throw beast::system_error(ec);
    }
    origin_.log("body-done " + target);
    co_return digest;
}

awaitable<OriginSession::After> OriginSession::serve_upload(Parser& parser) {
    const auto& req = parser.get();
    const std::string target(req.target());
    if (iequals(std::string_view(req[http::field::expect].data(), req[http::field::expect].size()),
                "100-continue")) {
        // Bytes already here would mean the body was sent before the 100: log it in its true order.
        if (body_bytes_waiting()) origin_.log("first-body-byte " + target);
        co_await write_raw("HTTP/1.1 100 Continue\r\n\r\n");
        origin_.log("100-sent " + target);
    }
    const BodyDigest digest = co_await read_body(parser);
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.set("X-Received-Bytes", std::to_string(digest.bytes));
    res.set("X-Body-Hash", digest.hash.hex());
    for (const auto& field : req) {
        const std::string_view name(field.name_string().data(), field.name_string().size());
        if (name.size() > 10 && iequals(name.substr(0, 10), "X-Trailer-"))
            res.set("X-Echo-" + std::string(name), field.value());
    }
    res.keep_alive(req.keep_alive());
    res.body() = "bytes=" + std::to_string(digest.bytes) + " hash=" + digest.hash.hex() + "\n";
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream_, res, tuple_awaitable);
    origin_.count_written(n);
    co_return (!ec && res.keep_alive()) ? After::keep_alive : After::close;
}

awaitable<OriginSession::After> OriginSession::serve_reject_413(Parser&) {
    co_await write_raw(
        "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        "Content-Length: 14\r\n\r\nbody too large");
    origin_.log("413-sent");
    // Not reading the body is the point; closing at once could reset the 413 away, so linger.
    co_await origin_.wait_gate("413", std::chrono::seconds(30));
    co_return After::close;
}

awaitable<OriginSession::After> OriginSession::serve_early_hints(Parser& parser) {
    co_await read_body(parser);
    co_await write_raw("HTTP/1.1 102 Processing\r\n\r\n");
    co_await write_raw(
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n");
    origin_.log("103-sent");
    // The 200 waits until the client has seen the 103: a proxy that holds interim responses back
    // until the final one makes this gate time out.
    co_await origin_.wait_gate("early-hints", std::chrono::seconds(10));
    co_return co_await serve_text(parser, 200, "final\n");
}

awaitable<OriginSession::After> OriginSession::serve_close_delimited(std::uint64_t size) {
    co_await write_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
    co_await write_payload(size);
    co_return After::close;
}

awaitable<OriginSession::After> OriginSession::serve_dying(std::uint64_t size, bool chunked) {
    if (chunked) {
        co_await write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        std::ostringstream size_line;
        size_line << std::hex << size / 2 << "\r\n";
        co_await write_raw(size_line.str());
    } else {
        co_await write_raw("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) +
                           "\r\n\r\n");
    }
    co_await write_payload(size / 2);
    origin_.log("died");
    beast::error_code ignored;
    stream_.socket().close(ignored);
    co_return After::gone;
}

awaitable<OriginSession::After> OriginSession::serve_websocket(Parser& parser) {
    websocket::stream<beast::tcp_stream> ws(std::move(stream_));
    co_await ws.async_accept(parser.get(), use_awaitable);
    origin_.log("websocket-accepted");
    co_await ws.async_write(net::buffer(std::string_view("welcome")), use_awaitable);
    beast::flat_buffer message;
    for (;;) {
        auto [ec, n] = co_await ws.async_read(message, tuple_awaitable);
        if (ec) break;  // closed by the client (or the proxy)
        ws.text(ws.got_text());
        co_await ws.async_write(message.data(), use_awaitable);
        message.consume(message.size());
    }
    co_return After::gone;
}

awaitable<void> OriginSession::write_raw(std::string_view bytes) {
    origin_.count_written(co_await net::async_write(stream_, net::buffer(bytes), use_awaitable));
}

awaitable<void> OriginSession::write_payload(std::uint64_t size) {
    std::vector<char> piece(piece_size);
    for (std::uint64_t done = 0; done < size;) {
        const auto len =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), size - done));
        fill_payload(done, std::span<char>(piece.data(), len));
        origin_.count_written(
            co_await net::async_write(stream_, net::buffer(piece.data(), len), use_awaitable));
        done += len;
    }
}

}  // namespace mproxy::test
