#include "proxy/tls/openssl_handles.hpp"

#include <openssl/err.h>

#include <array>

namespace mproxy::proxy {

X509Ptr share_certificate(X509* certificate) {
    X509_up_ref(certificate);
    return X509Ptr(certificate);
}

std::shared_ptr<EVP_PKEY> share_key(EVP_PKEY* key) {
    EVP_PKEY_up_ref(key);
    return std::shared_ptr<EVP_PKEY>(key, OpenSslFree<EVP_PKEY_free>{});
}

std::string openssl_failure(std::string_view what) {
    std::string text(what);
    const char* separator = ": ";
    while (const unsigned long code = ERR_get_error()) {
        text += separator;
        separator = "; ";
        // "PEM routines: no start line" reads better than the full "error:0480006C:..." form,
        // which is kept only for codes OpenSSL has no text for.
        const char* library = ERR_lib_error_string(code);
        const char* reason = ERR_reason_error_string(code);
        if (library != nullptr && reason != nullptr) {
            text.append(library).append(": ").append(reason);
        } else {
            std::array<char, 256> full{};
            ERR_error_string_n(code, full.data(), full.size());
            text += full.data();
        }
    }
    return text;
}

}  // namespace mproxy::proxy
