#pragma once
// The steps both blocking WebSocket test clients (plain and TLS) take on a Beast stream: a CONNECT
// through the proxy on the raw socket, then messages and the closing handshake, each within the
// step deadline. Any failure throws std::runtime_error naming the step.

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <stdexcept>
#include <string>

#include "tests/support/run_with_deadline.hpp"

namespace mproxy::test {

// Sends CONNECT `authority` on `stream`'s TCP socket and reads the proxy's answer, which must be a
// 200 with nothing after it; returns its status line.
template <class WebSocketStream>
std::string connect_through_proxy(boost::asio::io_context& io, WebSocketStream& stream,
                                  const std::string& authority) {
    namespace net = boost::asio;
    auto& socket = boost::beast::get_lowest_layer(stream);
    const std::string request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    if (auto ec = run_with_deadline(io, stream, [&](auto handler) {
            net::async_write(socket, net::buffer(request), handler);
        }))
        throw std::runtime_error("writing CONNECT: " + ec.message());
    std::string reply;
    if (auto ec = run_with_deadline(io, stream, [&](auto handler) {
            net::async_read_until(socket, net::dynamic_buffer(reply), "\r\n\r\n", handler);
        }))
        throw std::runtime_error("reading the CONNECT reply: " + ec.message());
    auto status_line = reply.substr(0, reply.find("\r\n"));
    if (reply.find("\r\n\r\n") + 4 != reply.size())
        throw std::runtime_error("bytes after the CONNECT reply: " + reply);
    if (status_line.find(" 200") == std::string::npos)
        throw std::runtime_error("CONNECT refused: " + status_line);
    return status_line;
}

template <class WebSocketStream>
void send_message(boost::asio::io_context& io, WebSocketStream& ws, const std::string& message,
                  bool binary) {
    ws.binary(binary);
    if (auto ec = run_with_deadline(io, ws, [&](auto handler) {
            ws.async_write(boost::asio::buffer(message), handler);
        }))
        throw std::runtime_error("WebSocket write: " + ec.message());
}

template <class WebSocketStream>
std::string receive_message(boost::asio::io_context& io, WebSocketStream& ws, bool* binary) {
    boost::beast::flat_buffer buffer;
    if (auto ec = run_with_deadline(io, ws, [&](auto handler) { ws.async_read(buffer, handler); }))
        throw std::runtime_error("WebSocket read: " + ec.message());
    if (binary) *binary = ws.got_binary();
    return boost::beast::buffers_to_string(buffer.data());
}

template <class WebSocketStream>
void close_websocket(boost::asio::io_context& io, WebSocketStream& ws) {
    if (auto ec = run_with_deadline(io, ws, [&](auto handler) {
            ws.async_close(boost::beast::websocket::close_code::normal, handler);
        }))
        throw std::runtime_error("WebSocket close: " + ec.message());
}

}  // namespace mproxy::test
