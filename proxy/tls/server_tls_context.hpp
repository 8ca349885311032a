#pragma once
// The server-side TLS context for one intercepted name, ready for asio::ssl::stream.

#include <boost/asio/ssl/context.hpp>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy {

// Presents `leaf` with `ca` as its chain and proves possession of `key`. TLS 1.2 or later;
// ALPN picks "http/1.1" when offered and otherwise answers without ALPN (a client offering only
// h2 then speaks HTTP/1.1 or gives up, rather than failing the handshake on an alert); session
// resumption through a small server-side cache and tickets. Throws std::runtime_error.
boost::asio::ssl::context make_leaf_server_context(X509* leaf, X509* ca, EVP_PKEY* key);

}  // namespace mproxy::proxy
