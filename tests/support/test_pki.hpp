#pragma once
// A throw-away PKI for the TLS tests, generated in memory with the OpenSSL 3 EVP API: a root CA
// and server certificates it signs (EC P-256, SHA-256). Files are written to a temporary directory
// (removed with the object) only for clients that want a path: libcurl's CAINFO, mproxyd's
// --upstream-ca.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mproxy::test {

// A certificate and its private key, both PEM.
struct CertifiedKey {
    std::string certificate_pem;
    std::string private_key_pem;
};

// What a server certificate says. Validity is relative to now.
struct ServerCertificateSpec {
    std::string common_name;
    std::vector<std::string> dns_names;     // subjectAltName DNS entries
    std::vector<std::string> ip_addresses;  // subjectAltName IP entries, "127.0.0.1", "::1"
    std::chrono::seconds not_before{-std::chrono::hours(1)};
    std::chrono::seconds not_after{std::chrono::hours(24 * 30)};
    bool client_auth = false;  // also usable as a TLS client certificate
};

class TestPki {
  public:
    // A new root CA with subject "CN=<ca_name>, O=mproxy tests", and the three standard leaves.
    explicit TestPki(std::string ca_name = "mproxy test root CA");
    ~TestPki();
    TestPki(const TestPki&) = delete;
    TestPki& operator=(const TestPki&) = delete;

    const std::string& ca_name() const { return ca_name_; }
    const CertifiedKey& ca() const { return ca_; }
    // The CA certificate as a PEM file (what a client trusts).
    const std::string& ca_file() const { return ca_file_; }

    // Valid now for DNS "localhost" and IP 127.0.0.1 (CN "localhost").
    const CertifiedKey& localhost() const { return localhost_; }
    // For "localhost" and 127.0.0.1, but its validity ended yesterday (it began 30 days ago).
    const CertifiedKey& expired() const { return expired_; }
    // Valid now, but only for "wrong.example".
    const CertifiedKey& wrong_name() const { return wrong_name_; }

    // A new server certificate signed by this CA (serverAuth, digitalSignature, fresh key).
    CertifiedKey issue(const ServerCertificateSpec& spec) const;

    // Writes `contents` to <directory>/<name> and returns the path.
    std::string write_file(const std::string& name, const std::string& contents) const;
    const std::string& directory() const { return directory_; }

  private:
    struct Authority;  // the CA's key and certificate as OpenSSL objects
    std::string ca_name_;
    std::unique_ptr<Authority> authority_;
    std::string directory_;
    CertifiedKey ca_;
    std::string ca_file_;
    CertifiedKey localhost_, expired_, wrong_name_;
};

}  // namespace mproxy::test
