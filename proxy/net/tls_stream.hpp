#pragma once
// ByteStream over TLS on top of a TcpStream, client or server side. Wire bytes are counted by the
// TcpStream underneath (the TLS records), not the plaintext.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "proxy/net/counted_socket.hpp"
#include "proxy/net/tcp_stream.hpp"

namespace mproxy::proxy {

class TlsStream final : public ByteStream {
public:
    TlsStream(TcpStream& transport, asio::ssl::context& context);
    // Marks the session as ended cleanly without sending close_notify (no round trip on the way
    // out): OpenSSL would otherwise make the session unresumable, on both sides.
    ~TlsStream() override;

    // Server side; `already_read` holds bytes of the ClientHello read while peeking at it.
    awaitable<error_code> accept(asio::const_buffer already_read);
    // Client side, with SNI and host name verification for `server_name` when `verify`.
    awaitable<error_code> connect(const std::string& server_name, bool verify);

    awaitable<IoResult> read_some(asio::mutable_buffer buffer) override;
    awaitable<IoResult> write(std::span<const asio::const_buffer> buffers) override;
    using ByteStream::write;
    // TLS may hold decrypted bytes the socket no longer shows: never wait, just say "readable".
    awaitable<error_code> wait_readable() override;
    // Sends close_notify, then half-closes the TCP connection. TLS has no useful half-close: reads
    // on this stream end too, which is what the relays that call this want.
    awaitable<> shutdown_send() override;
    void cancel() override { transport_.cancel(); }
    void close() override { transport_.close(); }
    void reset() override { transport_.reset(); }
    bool is_open() const override { return transport_.is_open(); }

    SSL* native_handle() { return stream_.native_handle(); }

private:
    TcpStream& transport_;
    asio::ssl::stream<CountedSocket> stream_;
};

}  // namespace mproxy::proxy
