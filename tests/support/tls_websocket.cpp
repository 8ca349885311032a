// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside Beast's HTTP parser
// (basic_parser::content_length_unchecked), which the WebSocket handshake instantiates.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "tests/support/tls_websocket.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <stdexcept>

#include "tests/support/deadline.hpp"
#include "tests/support/run_with_deadline.hpp"

namespace mproxy::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using net::ip::tcp;

template <class Initiate>
boost::system::error_code TlsWebSocket::run(Initiate&& initiate) {
    return run_with_deadline(io_, ws_, std::forward<Initiate>(initiate));
}

TlsWebSocket::TlsWebSocket(const std::string& host, std::uint16_t port, const std::string& ca_file,
                           std::optional<std::uint16_t> proxy_port, const std::string& path)
    : context_(net::ssl::context::tls_client), ws_(io_, context_) {
    context_.load_verify_file(ca_file);
    auto& tls = ws_.next_layer();
    auto& socket = beast::get_lowest_layer(ws_);
    const std::string authority = host + ":" + std::to_string(port);

    socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), proxy_port ? *proxy_port : port));
    socket.set_option(tcp::no_delay(true));
    if (proxy_port) {
        const std::string request =
            "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
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
    }

    boost::system::error_code not_an_address;
    net::ip::make_address(host, not_an_address);
    const bool host_is_ip = !not_an_address;
    if (!host_is_ip) SSL_set_tlsext_host_name(tls.native_handle(), host.c_str());
    tls.set_verify_mode(net::ssl::verify_peer);
    tls.set_verify_callback(net::ssl::host_name_verification(host));
    if (auto ec =
            run([&](auto handler) { tls.async_handshake(net::ssl::stream_base::client, handler); }))
        throw std::runtime_error("TLS handshake: " + ec.message());
    if (X509* peer = SSL_get1_peer_certificate(tls.native_handle())) {
        BIO* bio = BIO_new(BIO_s_mem());
        if (bio && PEM_write_bio_X509(bio, peer)) {
            char* data = nullptr;
            const long size = BIO_get_mem_data(bio, &data);
            peer_certificate_pem_.assign(data, static_cast<std::size_t>(size));
        }
        BIO_free(bio);
        X509_free(peer);
    }

    websocket::response_type response;
    if (auto ec =
            run([&](auto handler) { ws_.async_handshake(response, authority, path, handler); }))
        throw std::runtime_error("WebSocket handshake: " + ec.message() + " (status " +
                                 std::to_string(response.result_int()) + ")");
}

TlsWebSocket::~TlsWebSocket() {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
}

void TlsWebSocket::send(const std::string& message, bool binary) {
    ws_.binary(binary);
    if (auto ec = run([&](auto handler) { ws_.async_write(net::buffer(message), handler); }))
        throw std::runtime_error("WebSocket write: " + ec.message());
}

std::string TlsWebSocket::receive(bool* binary) {
    beast::flat_buffer buffer;
    if (auto ec = run([&](auto handler) { ws_.async_read(buffer, handler); }))
        throw std::runtime_error("WebSocket read: " + ec.message());
    if (binary) *binary = ws_.got_binary();
    return beast::buffers_to_string(buffer.data());
}

void TlsWebSocket::close() {
    if (auto ec =
            run([&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); }))
        throw std::runtime_error("WebSocket close: " + ec.message());
}

}  // namespace mproxy::test
