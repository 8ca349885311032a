// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside Beast's HTTP parser
// (basic_parser::content_length_unchecked), which the WebSocket handshake instantiates.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "tests/support/proxied_websocket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>
#include <stdexcept>

#include "tests/support/deadline.hpp"
#include "tests/support/run_with_deadline.hpp"

namespace mproxy::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using net::ip::tcp;

template <class Initiate>
boost::system::error_code ProxiedWebSocket::run(Initiate&& initiate) {
    return run_with_deadline(io_, ws_, std::forward<Initiate>(initiate));
}

ProxiedWebSocket::ProxiedWebSocket(std::uint16_t proxy_port, const std::string& origin_authority,
                                   WebSocketRoute route)
    : ws_(io_) {
    auto& socket = beast::get_lowest_layer(ws_);
    socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), proxy_port));
    socket.set_option(tcp::no_delay(true));
    std::string target = "http://" + origin_authority + "/ws";
    if (route == WebSocketRoute::inside_connect) {
        const std::string request =
            "CONNECT " + origin_authority + " HTTP/1.1\r\nHost: " + origin_authority + "\r\n\r\n";
        if (auto ec =
                run([&](auto handler) { net::async_write(socket, net::buffer(request), handler); }))
            throw std::runtime_error("writing CONNECT: " + ec.message());
        std::string reply;
        if (auto ec = run([&](auto handler) {
                net::async_read_until(socket, net::dynamic_buffer(reply), "\r\n\r\n", handler);
            }))
            throw std::runtime_error("reading the CONNECT reply: " + ec.message());
        connect_reply_ = reply.substr(0, reply.find("\r\n"));
        if (reply.find("\r\n\r\n") + 4 != reply.size())
            throw std::runtime_error("bytes after the CONNECT reply: " + reply);
        if (connect_reply_.find(" 200") == std::string::npos)
            throw std::runtime_error("CONNECT refused: " + connect_reply_);
        target = "/ws";
    }
    websocket::response_type response;
    if (auto ec = run([&](auto handler) {
            ws_.async_handshake(response, origin_authority, target, handler);
        }))
        throw std::runtime_error("WebSocket handshake: " + ec.message() + " (status " +
                                 std::to_string(response.result_int()) + ")");
}

ProxiedWebSocket::~ProxiedWebSocket() {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
}

void ProxiedWebSocket::send(const std::string& message, bool binary) {
    ws_.binary(binary);
    if (auto ec = run([&](auto handler) { ws_.async_write(net::buffer(message), handler); }))
        throw std::runtime_error("WebSocket write: " + ec.message());
}

std::string ProxiedWebSocket::receive(bool* binary) {
    beast::flat_buffer buffer;
    if (auto ec = run([&](auto handler) { ws_.async_read(buffer, handler); }))
        throw std::runtime_error("WebSocket read: " + ec.message());
    if (binary) *binary = ws_.got_binary();
    return beast::buffers_to_string(buffer.data());
}

void ProxiedWebSocket::close() {
    if (auto ec =
            run([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); }))
        throw std::runtime_error("WebSocket close: " + ec.message());
}

}  // namespace mproxy::test
