// GCC 12 with -fsanitize=address reports a false maybe-uninitialized inside Beast's HTTP parser
// (basic_parser::content_length_unchecked), which the WebSocket handshake instantiates.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "tests/support/tls_websocket.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
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
        connect_reply_ = connect_through_proxy(io_, ws_, authority);
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
    send_message(io_, ws_, message, binary);
}

std::string TlsWebSocket::receive(bool* binary) { return receive_message(io_, ws_, binary); }

void TlsWebSocket::close() { close_websocket(io_, ws_); }

}  // namespace mproxy::test
