#include "proxy/net/tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

namespace mproxy::proxy {

TlsStream::TlsStream(TcpStream& transport, asio::ssl::context& context)
    : transport_(transport), stream_(CountedSocket(transport), context) {}

TlsStream::~TlsStream() {
    SSL* ssl = stream_.native_handle();
    if (SSL_is_init_finished(ssl)) {
        SSL_set_quiet_shutdown(ssl, 1);
        SSL_shutdown(ssl);
    }
}

awaitable<error_code> TlsStream::accept(asio::const_buffer already_read) {
    auto [ec, used] = co_await stream_.async_handshake(asio::ssl::stream_base::server, already_read, use_tuple);
    co_return ec;
}

awaitable<error_code> TlsStream::connect(const std::string& server_name, bool verify) {
    SSL* ssl = stream_.native_handle();
    error_code not_an_address;
    asio::ip::make_address(server_name, not_an_address);
    const bool is_address = !not_an_address;
    if (!is_address) SSL_set_tlsext_host_name(ssl, server_name.c_str());  // SNI carries names only
    if (verify) {
        if (is_address)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
        else
            SSL_set1_host(ssl, server_name.c_str());
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    }
    auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, use_tuple);
    co_return ec;
}

awaitable<IoResult> TlsStream::read_some(asio::mutable_buffer buffer) {
    auto [ec, n] = co_await stream_.async_read_some(buffer, use_tuple);
    // Most HTTP peers close without close_notify; their message framing says whether data is missing.
    if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
    co_return IoResult{ec, n};
}

awaitable<IoResult> TlsStream::write(std::span<const asio::const_buffer> buffers) {
    auto [ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
    co_return IoResult{ec, n};
}

awaitable<error_code> TlsStream::wait_readable() { co_return error_code{}; }

awaitable<> TlsStream::shutdown_send() {
    SSL* ssl = stream_.native_handle();
    if (SSL_is_init_finished(ssl)) {
        // Marking the peer's close_notify as received lets SSL_shutdown complete after writing ours,
        // without waiting to read one (a read here would race the relay reading this stream).
        SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
        co_await stream_.async_shutdown(use_tuple);
    }
    transport_.shutdown_send_now();
}

}  // namespace mproxy::proxy
