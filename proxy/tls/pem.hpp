#pragma once
// PEM text to and from certificates and private keys. Readers return null on failure and leave
// OpenSSL's reason in the error queue for the caller to word (see openssl_failure).

#include <string>
#include <string_view>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy {

// The first certificate in `pem`.
X509Ptr read_certificate_pem(std::string_view pem);
// An unencrypted private key, PKCS#8 or the traditional RSA/EC forms. An encrypted key fails
// rather than prompting for a pass phrase on the terminal, which is OpenSSL's default.
EvpPkeyPtr read_private_key_pem(std::string_view pem);

std::string certificate_pem(X509* certificate);
// PKCS#8, unencrypted.
std::string private_key_pem(EVP_PKEY* key);

}  // namespace mproxy::proxy
