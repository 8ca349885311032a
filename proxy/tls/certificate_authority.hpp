#pragma once
// The CA that signs intercepted leaves: a certificate and its private key, immutable once built,
// shared as std::shared_ptr<const CertificateAuthority> so a rotation swaps the pointer while
// connections still holding the old one keep working.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy {

// A CA that cannot be loaded or used, with a reason fit for an operator.
class CaError : public std::runtime_error {
  public:
    // What the reason is about, so that a caller holding the parts in files or form fields can
    // point at the right one.
    enum class Part { certificate, key, pair, storage };

    explicit CaError(const std::string& reason, Part part = Part::pair)
        : std::runtime_error(reason), part_(part) {}
    Part part() const { return part_; }

  private:
    Part part_;
};

class CertificateAuthority {
  public:
    // A new CA: EC P-256 key, self-signed, "CN=mproxy CA (<host_name>), O=mproxy", valid from an
    // hour ago (clients with a slow clock) for ten years.
    static std::shared_ptr<const CertificateAuthority> generate(const std::string& host_name);

    // An existing CA, RSA (2048 bits or more) or EC. Throws CaError when a PEM block is
    // unreadable, the key does not belong to the certificate, or the certificate may not sign
    // certificates (basicConstraints CA:TRUE, and keyCertSign if keyUsage is present).
    static std::shared_ptr<const CertificateAuthority> from_pem(std::string_view cert_pem,
                                                                std::string_view key_pem);

    // Same checks as from_pem, on parsed objects.
    static std::shared_ptr<const CertificateAuthority> from_parts(X509Ptr certificate,
                                                                  EvpPkeyPtr key);

    // Borrowed; valid as long as this object. OpenSSL's signing and verification APIs take
    // non-const pointers even though they only read.
    X509* certificate() const { return certificate_.get(); }
    EVP_PKEY* key() const { return key_.get(); }

    std::string certificate_pem() const { return certificate_pem_; }
    std::string key_pem() const;
    // SHA-256 of the DER certificate, upper-case hex bytes joined by colons.
    std::string fingerprint_sha256() const { return fingerprint_; }
    std::chrono::system_clock::time_point not_before() const { return not_before_; }
    std::chrono::system_clock::time_point not_after() const { return not_after_; }
    // RFC 2253 form, e.g. "CN=mproxy CA (box),O=mproxy".
    std::string subject() const { return subject_; }

    CertificateAuthority(const CertificateAuthority&) = delete;
    CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  private:
    // Only the factories, which validate, can construct; the token lets them use make_shared.
    struct Validated {
        explicit Validated() = default;
    };

  public:
    CertificateAuthority(Validated, X509Ptr certificate, EvpPkeyPtr key);

  private:
    const X509Ptr certificate_;
    const EvpPkeyPtr key_;
    const std::string certificate_pem_;
    const std::string fingerprint_;
    const std::string subject_;
    const std::chrono::system_clock::time_point not_before_;
    const std::chrono::system_clock::time_point not_after_;
};

}  // namespace mproxy::proxy
