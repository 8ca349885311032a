#pragma once
// Turns a failed TLS handshake with an origin into the reason a client is told: expired, wrong
// name, untrusted, or what OpenSSL said.

#include <openssl/ssl.h>

#include <string>

#include "proxy/net/asio_types.hpp"

namespace mproxy::proxy {

std::string describe_origin_tls_failure(SSL* ssl, const error_code& handshake_error);

// True when a client's handshake failed because it did not accept mproxy's certificate (an
// untrusted CA or a pinned key): that host should be tunnelled instead.
bool client_refused_certificate(const error_code& handshake_error);

}  // namespace mproxy::proxy
