#pragma once
// A WebSocket client (Beast) that reaches the origin's /ws through the proxy, either with an
// absolute-form upgrade request or inside a CONNECT tunnel. Every operation has a deadline.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <ostream>
#include <string>

namespace mproxy::test {

enum class WebSocketRoute { absolute_form, inside_connect };
inline void PrintTo(WebSocketRoute route, std::ostream* out) {
    *out << (route == WebSocketRoute::absolute_form ? "absolute-form" : "inside-CONNECT");
}

class ProxiedWebSocket {
  public:
    // Connects and upgrades; throws std::runtime_error with the reason when that fails.
    ProxiedWebSocket(std::uint16_t proxy_port, const std::string& origin_authority,
                     WebSocketRoute route);
    ~ProxiedWebSocket();

    void send(const std::string& message, bool binary = false);
    // The next message; throws on error or timeout. `binary` tells its kind.
    std::string receive(bool* binary = nullptr);
    // Sends a close frame and waits for the peer's.
    void close();

    // The status line of the proxy's answer to CONNECT ("" for absolute_form).
    const std::string& connect_reply() const { return connect_reply_; }

  private:
    template <class Initiate>
    boost::system::error_code run(Initiate&& initiate);

    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
    std::string connect_reply_;
};

}  // namespace mproxy::test
