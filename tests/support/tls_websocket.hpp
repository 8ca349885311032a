#pragma once
// A WebSocket client over TLS (Beast over an OpenSSL stream) for the origin's /ws: directly, or
// through the proxy inside a CONNECT tunnel (what a browser does for wss://). The server is
// verified against one CA file and the host name; every operation has a deadline.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace mproxy::test {

class TlsWebSocket {
  public:
    // wss://host:port/path, trusting only `ca_file`: `host` is the SNI, the name verified and the
    // Host header. With `proxy_port`, through 127.0.0.1:proxy_port and CONNECT host:port; without,
    // straight to 127.0.0.1:port. Throws std::runtime_error naming the step that failed.
    TlsWebSocket(const std::string& host, std::uint16_t port, const std::string& ca_file,
                 std::optional<std::uint16_t> proxy_port = std::nullopt,
                 const std::string& path = "/ws");
    ~TlsWebSocket();

    void send(const std::string& message, bool binary = false);
    // The next message; throws on error or timeout. `binary` tells its kind.
    std::string receive(bool* binary = nullptr);
    // Sends a close frame and waits for the peer's.
    void close();

    // The status line of the proxy's answer to CONNECT ("" without a proxy).
    const std::string& connect_reply() const { return connect_reply_; }
    // The leaf certificate the server showed, PEM (parse_certificate() in https_transfer.hpp).
    const std::string& peer_certificate_pem() const { return peer_certificate_pem_; }

  private:
    template <class Initiate>
    boost::system::error_code run(Initiate&& initiate);

    boost::asio::io_context io_;
    boost::asio::ssl::context context_;
    boost::beast::websocket::stream<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> ws_;
    std::string connect_reply_;
    std::string peer_certificate_pem_;
};

}  // namespace mproxy::test
