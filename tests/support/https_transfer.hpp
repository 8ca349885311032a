#pragma once
// A CurlTransfer for https:// URLs, direct or through the proxy (curl then tunnels with CONNECT):
// which CA it trusts, where it connects, and the certificates the server showed it
// (CURLOPT_CERTINFO), parsed so tests can check the subject, SANs and issuer of what mproxy minted.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/curl_transfer.hpp"

namespace mproxy::test {

// One certificate of the chain the server sent.
struct SeenCertificate {
    std::string subject;  // one line, "CN = localhost, O = mproxy tests"
    std::string issuer;
    std::string common_name;  // subject CN, "" when none
    std::string issuer_common_name;
    std::vector<std::string> dns_names;     // subjectAltName DNS entries
    std::vector<std::string> ip_addresses;  // subjectAltName IP entries, "127.0.0.1", "::1"
    std::chrono::system_clock::time_point not_before, not_after;
    std::string serial_hex;
    std::string key_type;  // "EC", "RSA"
    std::string pem;
    std::map<std::string, std::string> curl_fields;  // curl's own text, "Subject", "Expire date"
};

// Parses a PEM certificate; nullopt when it is not one.
std::optional<SeenCertificate> parse_certificate(const std::string& pem);

class HttpsTransfer : public CurlTransfer {
  public:
    // Verifies the server (peer and name) against the CA certificates in `ca_file`; with "" against
    // curl's default store, which knows no test CA.
    explicit HttpsTransfer(const std::string& ca_file = "");
    ~HttpsTransfer();

    // The URL's host:port is reached at to_host:to_port instead (CURLOPT_CONNECT_TO); the URL's
    // host is still the SNI and the name verified. Through a proxy it is what CONNECT asks for.
    void connect_to(const std::string& host, std::uint16_t port, const std::string& to_host,
                    std::uint16_t to_port);
    // host:port resolves to `address` (CURLOPT_RESOLVE; direct connections only).
    void resolve(const std::string& host, std::uint16_t port, const std::string& address);
    // Offers ALPN "http/1.1" only (by default curl offers "h2" too, as browsers do).
    void http1_only();
    // Highest TLS version curl may use: CURL_SSLVERSION_MAX_TLSv1_2, ..._TLSv1_3.
    void max_tls_version(long curl_sslversion_max);

    // The chain of the last perform()'s new connection, leaf first; empty when there was none.
    std::vector<SeenCertificate> certificates();
    std::optional<SeenCertificate> leaf_certificate();
    // OpenSSL's verification result (X509_V_OK, X509_V_ERR_CERT_HAS_EXPIRED, ...).
    long verify_result();

  private:
    curl_slist* connect_to_ = nullptr;
    curl_slist* resolve_ = nullptr;
};

}  // namespace mproxy::test
