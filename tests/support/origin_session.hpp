#pragma once
// One connection of the TestOrigin: reads requests in a keep-alive loop and serves its routes
// (listed in test_origin.hpp). Runs on the origin's single thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <string>

#include "tests/support/payload.hpp"

namespace mproxy::test {

class TestOrigin;

class OriginSession {
  public:
    OriginSession(TestOrigin& origin, boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> run();

  private:
    using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
    enum class After { keep_alive, close, gone };  // gone: the stream was handed over or closed

    boost::asio::awaitable<After> dispatch(Parser& parser);
    boost::asio::awaitable<After> serve_bytes(Parser& parser, std::uint64_t size);
    boost::asio::awaitable<After> serve_chunked(Parser& parser, std::uint64_t size);
    boost::asio::awaitable<After> serve_upload(Parser& parser);
    boost::asio::awaitable<After> serve_reject_413(Parser& parser);
    boost::asio::awaitable<After> serve_early_hints(Parser& parser);
    boost::asio::awaitable<After> serve_close_delimited(std::uint64_t size);
    boost::asio::awaitable<After> serve_dying(std::uint64_t size, bool chunked);
    boost::asio::awaitable<After> serve_websocket(Parser& parser);
    boost::asio::awaitable<After> serve_text(Parser& parser, unsigned status, std::string body);

    // Reads the rest of the request body, logging the first byte's arrival.
    boost::asio::awaitable<BodyDigest> read_body(Parser& parser);
    boost::asio::awaitable<void> write_raw(std::string_view bytes);
    boost::asio::awaitable<void> write_payload(std::uint64_t size);  // raw, no framing
    bool body_bytes_waiting();

    TestOrigin& origin_;
    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
};

}  // namespace mproxy::test
