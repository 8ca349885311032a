#include "proxy/tls/server_tls_context.hpp"

#include <stdexcept>
#include <string_view>

namespace mproxy::proxy {

namespace {

// Sessions per leaf context. A context exists per cached name, so the default (20480) times the
// cache capacity could grow large; a client reconnecting to one name needs only a few.
constexpr long session_cache_size = 256;
constexpr std::string_view session_id_context = "mproxy-leaf";
constexpr std::string_view http_1_1 = "http/1.1";

// ALPN: `offered` is the client's list, each protocol prefixed by its length in one byte.
int select_http_1_1(SSL*, const unsigned char** selected, unsigned char* selected_length,
                    const unsigned char* offered, unsigned int offered_length, void*) {
    unsigned int at = 0;
    while (at < offered_length) {
        const unsigned int length = offered[at];
        if (length > offered_length - at - 1) break;  // malformed list: ignore the rest
        const std::string_view protocol(reinterpret_cast<const char*>(offered + at + 1), length);
        if (protocol == http_1_1) {
            *selected = offered + at + 1;
            *selected_length = static_cast<unsigned char>(length);
            return SSL_TLSEXT_ERR_OK;
        }
        at += 1 + length;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

[[noreturn]] void fail(std::string_view what) {
    throw std::runtime_error(openssl_failure(what));
}

}  // namespace

boost::asio::ssl::context make_leaf_server_context(X509* leaf, X509* ca, EVP_PKEY* key) {
    boost::asio::ssl::context context(boost::asio::ssl::context::tls_server);
    SSL_CTX* native = context.native_handle();
    context.set_options(boost::asio::ssl::context::default_workarounds |
                        boost::asio::ssl::context::no_compression);
    // A client may not renegotiate: nothing here needs it, and it is a cheap way to make a
    // server do expensive work.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) fail("cannot require TLS 1.2");

    if (SSL_CTX_use_certificate(native, leaf) != 1) fail("cannot use the leaf certificate");
    if (SSL_CTX_add1_chain_cert(native, ca) != 1) fail("cannot add the CA to the chain");
    if (SSL_CTX_use_PrivateKey(native, key) != 1) fail("cannot use the leaf key");
    if (SSL_CTX_check_private_key(native) != 1) fail("the leaf key does not match the leaf");

    SSL_CTX_set_alpn_select_cb(native, select_http_1_1, nullptr);

    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(native, session_cache_size);
    if (SSL_CTX_set_session_id_context(
            native, reinterpret_cast<const unsigned char*>(session_id_context.data()),
            static_cast<unsigned int>(session_id_context.size())) != 1)
        fail("cannot set the session id context");
    return context;
}

}  // namespace mproxy::proxy
