#include "proxy/upstream/origin_tls_failure.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace mproxy::proxy {

std::string describe_origin_tls_failure(SSL* ssl, const error_code& handshake_error) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        const std::string detail = X509_verify_cert_error_string(verify);
        switch (verify) {
            case X509_V_ERR_CERT_HAS_EXPIRED:
                return "origin certificate expired (" + detail + ")";
            case X509_V_ERR_CERT_NOT_YET_VALID:
                return "origin certificate not yet valid (" + detail + ")";
            case X509_V_ERR_HOSTNAME_MISMATCH:
            case X509_V_ERR_IP_ADDRESS_MISMATCH:
                return "origin certificate is for another name (" + detail + ")";
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return "origin certificate not trusted (" + detail + ")";
            default:
                return "origin certificate rejected (" + detail + ")";
        }
    }
    return "TLS handshake with origin failed: " + handshake_error.message();
}

bool client_refused_certificate(const error_code& handshake_error) {
    if (handshake_error.category() != asio::error::get_ssl_category()) return false;
    const auto reason = ERR_GET_REASON(static_cast<unsigned long>(handshake_error.value()));
    return reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
           reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN || reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED;
}

}  // namespace mproxy::proxy
