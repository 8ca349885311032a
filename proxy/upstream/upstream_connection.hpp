#pragma once
// One connection to an origin, plain or TLS, with the buffer of bytes read from it but not yet
// relayed.

#include <memory>
#include <string>

#include "proxy/http/authority.hpp"
#include "proxy/net/tcp_stream.hpp"

namespace mproxy::proxy {

// Which pooled connections can serve a request: same origin, same transport.
struct UpstreamKey {
    Authority authority;
    bool tls = false;
    bool operator==(const UpstreamKey&) const = default;
};

struct UpstreamConnection {
    UpstreamConnection(asio::ip::tcp::socket socket, Authority authority)
        : tcp(std::move(socket)), key{std::move(authority), false} {}

    // The HTTP byte stream: TLS when there is one, the TCP stream otherwise.
    ByteStream& io() { return secure ? *secure : static_cast<ByteStream&>(tcp); }

    // The origin's IP address as connected to (HAR's serverIPAddress), empty when the socket has
    // none. Formatted on first use and kept: a pooled connection serves many exchanges.
    const std::string& address() {
        if (address_.empty()) {
            boost::system::error_code ec;
            const auto remote = tcp.socket().remote_endpoint(ec);
            if (!ec) address_ = remote.address().to_string();
        }
        return address_;
    }

    TcpStream tcp;  // wire bytes are counted here
    std::unique_ptr<ByteStream> secure;    // TLS over `tcp`, for https origins
    beast::flat_buffer buffer;
    UpstreamKey key;
    unsigned exchanges = 0;  // completed on this connection; > 0 means it came from the pool
    std::string address_;
};

}  // namespace mproxy::proxy
