#include "tests/support/tls_origin.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace mproxy::test {

namespace net = boost::asio;
namespace beast = boost::beast;
using net::ip::tcp;
using namespace net::experimental::awaitable_operators;
using TlsStream = net::ssl::stream<beast::tcp_stream>;
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

namespace {

// Where the OpenSSL callbacks of one handshake write what they saw. Not SSL_set_app_data: Asio
// keeps its verify callback there.
int handshake_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

TlsHandshake* handshake_of(SSL* ssl) {
    return static_cast<TlsHandshake*>(SSL_get_ex_data(ssl, handshake_index()));
}

int note_server_name(SSL* ssl, int*, void*) {
    if (auto* handshake = handshake_of(ssl)) {
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        handshake->server_name = name ? name : "";
    }
    return SSL_TLSEXT_ERR_OK;
}

// The origin's first preference the client also offers; no acknowledgement when there is none.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_size,
                const unsigned char* in, unsigned in_size, void* accepted_ptr) {
    const auto& accepted = *static_cast<const std::vector<std::string>*>(accepted_ptr);
    std::vector<std::string_view> offered;
    for (unsigned at = 0; at < in_size;) {
        const unsigned size = in[at];
        if (size == 0 || at + 1 + size > in_size) return SSL_TLSEXT_ERR_ALERT_FATAL;
        offered.emplace_back(reinterpret_cast<const char*>(in + at + 1), size);
        at += 1 + size;
    }
    if (auto* handshake = handshake_of(ssl))
        handshake->offered_alpn.assign(offered.begin(), offered.end());
    for (const auto& protocol : accepted) {
        const auto match = std::find(offered.begin(), offered.end(), protocol);
        if (match == offered.end()) continue;
        *out = reinterpret_cast<const unsigned char*>(match->data());
        *out_size = static_cast<unsigned char>(match->size());
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

net::awaitable<void> client_to_routes(TlsStream& tls, tcp::socket& routes) {
    std::array<char, 16 * 1024> piece;
    for (;;) {
        auto [ec, n] = co_await tls.async_read_some(net::buffer(piece), tuple_awaitable);
        if (n > 0) {
            auto [write_ec, written] =
                co_await net::async_write(routes, net::buffer(piece.data(), n), tuple_awaitable);
            if (write_ec) break;
        }
        if (ec) break;  // close_notify, a bare close, or cancelled by routes_to_client
    }
    boost::system::error_code ignored;
    routes.shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> routes_to_client(TlsStream& tls, tcp::socket& routes) {
    std::array<char, 16 * 1024> piece;
    for (;;) {
        auto [ec, n] = co_await routes.async_read_some(net::buffer(piece), tuple_awaitable);
        if (n > 0) {
            auto [write_ec, written] =
                co_await net::async_write(tls, net::buffer(piece.data(), n), tuple_awaitable);
            if (write_ec) break;
        }
        if (ec) break;
    }
    // The origin is done with this connection and reads nothing more: stop reading the client.
    beast::get_lowest_layer(tls).cancel();
}

}  // namespace

TlsOrigin::TlsOrigin(const CertifiedKey& certificate) : TlsOrigin(TlsOriginOptions{certificate}) {}

TlsOrigin::TlsOrigin(TlsOriginOptions options)
    : options_(std::move(options)),
      context_(net::ssl::context::tls_server),
      acceptor_(io_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    context_.use_certificate_chain(net::buffer(options_.certificate.certificate_pem));
    context_.use_private_key(net::buffer(options_.certificate.private_key_pem),
                             net::ssl::context::pem);
    SSL_CTX* ctx = context_.native_handle();
    if (options_.min_version != 0) SSL_CTX_set_min_proto_version(ctx, options_.min_version);
    if (options_.max_version != 0) SSL_CTX_set_max_proto_version(ctx, options_.max_version);
    SSL_CTX_set_tlsext_servername_callback(ctx, &note_server_name);
    SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, &options_.alpn);

    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(
        io_,
        [this]() -> net::awaitable<void> {
            for (;;) {
                auto [ec, socket] = co_await acceptor_.async_accept(tuple_awaitable);
                if (ec == net::error::operation_aborted) co_return;
                if (ec) continue;
                ++accepted_;
                net::co_spawn(io_, serve(std::move(socket)), [](std::exception_ptr) {});
            }
        },
        [](std::exception_ptr) {});
    thread_ = std::thread([this] {
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception&) {
                // One connection's failure; the others go on.
            }
        }
    });
}

TlsOrigin::~TlsOrigin() {
    io_.stop();
    thread_.join();
}

net::awaitable<void> TlsOrigin::serve(tcp::socket socket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    TlsStream tls(beast::tcp_stream(std::move(socket)), context_);
    TlsHandshake handshake;
    SSL* ssl = tls.native_handle();
    SSL_set_ex_data(ssl, handshake_index(), &handshake);
    beast::get_lowest_layer(tls).expires_after(step_timeout);
    auto [ec] = co_await tls.async_handshake(net::ssl::stream_base::server, tuple_awaitable);
    SSL_set_ex_data(ssl, handshake_index(), nullptr);
    handshake.ok = !ec;
    if (ec) {
        handshake.error = ec.message();
    } else {
        const unsigned char* alpn = nullptr;
        unsigned alpn_size = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_size);
        if (alpn) handshake.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_size);
        handshake.version = SSL_get_version(ssl);
    }
    record(handshake);
    if (ec) co_return;
    beast::get_lowest_layer(tls).expires_never();

    tcp::socket routes(co_await net::this_coro::executor);
    auto [connect_ec] = co_await routes.async_connect(
        tcp::endpoint(net::ip::address_v4::loopback(), routes_.port()), tuple_awaitable);
    if (connect_ec) co_return;
    routes.set_option(tcp::no_delay(true), ignored);
    co_await (client_to_routes(tls, routes) && routes_to_client(tls, routes));

    // Our close_notify, then the client's if it comes soon.
    beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(5));
    co_await tls.async_shutdown(tuple_awaitable);
}

void TlsOrigin::record(TlsHandshake handshake) {
    {
        std::lock_guard lock(mutex_);
        handshakes_.push_back(std::move(handshake));
    }
    recorded_.notify_all();
}

std::vector<TlsHandshake> TlsOrigin::handshakes() const {
    std::lock_guard lock(mutex_);
    return handshakes_;
}

bool TlsOrigin::wait_for_handshakes(std::size_t count, Deadline deadline) const {
    std::unique_lock lock(mutex_);
    return recorded_.wait_until(lock, deadline, [&] { return handshakes_.size() >= count; });
}

}  // namespace mproxy::test
