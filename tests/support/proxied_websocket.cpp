// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside Beast's HTTP parser
// (basic_parser::content_length_unchecked), which the WebSocket handshake instantiates.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "tests/support/proxied_websocket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>
#include <stdexcept>

#include "tests/support/deadline.hpp"
#include "tests/support/run_with_deadline.hpp"
#include "tests/support/websocket_steps.hpp"

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
        connect_reply_ = connect_through_proxy(io_, ws_, origin_authority);
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
    send_message(io_, ws_, message, binary);
}

std::string ProxiedWebSocket::receive(bool* binary) { return receive_message(io_, ws_, binary); }

void ProxiedWebSocket::close() { close_websocket(io_, ws_); }

}  // namespace mproxy::test
