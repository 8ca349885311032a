#include "proxy/tls/certificate_authority.hpp"

#include <array>
#include <chrono>
#include <cstdio>

#include "proxy/tls/pem.hpp"
#include "proxy/tls/x509_fields.hpp"

namespace mproxy::proxy {

namespace {

using namespace std::chrono_literals;

// The CA is valid from an hour ago so that clients whose clock runs a little behind ours still
// accept it, and for ten years so that nobody has to re-trust it soon.
constexpr auto ca_backdating = 1h;
constexpr auto ca_lifetime = std::chrono::years{10};
constexpr std::size_t common_name_limit = 64;  // ub-common-name, RFC 5280
constexpr int minimum_rsa_bits = 2048;  // browsers reject shorter RSA keys anywhere in a chain

std::string ca_common_name(const std::string& host_name) {
    const std::string prefix = "mproxy CA (";
    const std::size_t room = common_name_limit - prefix.size() - 1;
    return prefix + host_name.substr(0, room) + ")";
}

std::string sha256_fingerprint(X509* certificate) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (X509_digest(certificate, EVP_sha256(), digest.data(), &length) != 1)
        throw std::runtime_error(openssl_failure("cannot hash the CA certificate"));
    std::string text;
    for (unsigned int i = 0; i < length; ++i) {
        std::array<char, 4> hex{};
        std::snprintf(hex.data(), hex.size(), i == 0 ? "%02X" : ":%02X", digest[i]);
        text += hex.data();
    }
    return text;
}

std::string subject_text(X509* certificate) {
    const BioPtr bio(BIO_new(BIO_s_mem()));
    // RFC 2253, but with UTF-8 kept as is rather than escaped byte by byte.
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, flags) < 0)
        throw std::runtime_error(openssl_failure("cannot print the CA subject"));
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

void check_key_type(EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "EC")) return;
    if (EVP_PKEY_is_a(key, "RSA")) {
        if (EVP_PKEY_get_bits(key) < minimum_rsa_bits)
            throw CaError("the RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                              " bits; at least " + std::to_string(minimum_rsa_bits) +
                              " are needed for clients to accept it",
                          CaError::Part::key);
        return;
    }
    throw CaError(std::string("the key type ") + EVP_PKEY_get0_type_name(key) +
                      " is not supported; use an RSA or EC key",
                  CaError::Part::key);
}

void check_may_sign_certificates(X509* certificate) {
    const uint32_t flags = X509_get_extension_flags(certificate);
    if ((flags & EXFLAG_INVALID) != 0)
        throw CaError("the certificate has malformed or duplicate extensions",
                      CaError::Part::certificate);
    if ((flags & EXFLAG_CA) == 0)
        throw CaError(
            "the certificate is not a CA certificate (basicConstraints CA:TRUE is missing)",
            CaError::Part::certificate);
    if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(certificate) & KU_KEY_CERT_SIGN) == 0)
        throw CaError("the CA certificate's keyUsage does not allow keyCertSign",
                      CaError::Part::certificate);
}

}  // namespace

CertificateAuthority::CertificateAuthority(Validated, X509Ptr certificate, EvpPkeyPtr key)
    : certificate_(std::move(certificate)),
      key_(std::move(key)),
      certificate_pem_(proxy::certificate_pem(certificate_.get())),
      fingerprint_(sha256_fingerprint(certificate_.get())),
      subject_(subject_text(certificate_.get())),
      not_before_(to_system_time(X509_get0_notBefore(certificate_.get()))),
      not_after_(to_system_time(X509_get0_notAfter(certificate_.get()))) {}

std::shared_ptr<const CertificateAuthority> CertificateAuthority::generate(
    const std::string& host_name) {
    ERR_clear_error();
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error(openssl_failure("cannot generate the CA key"));

    X509Ptr certificate = new_v3_certificate();
    X509* cert = certificate.get();
    set_random_serial(cert);
    const auto now = std::chrono::system_clock::now();
    set_validity(cert, now - ca_backdating,
                 now + std::chrono::duration_cast<std::chrono::seconds>(ca_lifetime));

    X509NamePtr name(X509_NAME_new());
    if (!name) throw std::runtime_error(openssl_failure("cannot allocate the CA name"));
    add_name_entry(name.get(), "O", "mproxy");
    add_name_entry(name.get(), "CN", ca_common_name(host_name));
    if (X509_set_subject_name(cert, name.get()) != 1 ||
        X509_set_issuer_name(cert, name.get()) != 1 || X509_set_pubkey(cert, key.get()) != 1)
        throw std::runtime_error(openssl_failure("cannot fill in the CA certificate"));

    // pathlen:0: this CA signs leaves only, so a leaked key cannot mint intermediate CAs either.
    add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, cert, NID_subject_key_identifier, "hash");
    sign_certificate(cert, key.get());
    return from_parts(std::move(certificate), std::move(key));
}

std::shared_ptr<const CertificateAuthority> CertificateAuthority::from_pem(
    std::string_view cert_pem, std::string_view key_pem) {
    ERR_clear_error();
    X509Ptr certificate = read_certificate_pem(cert_pem);
    if (!certificate)
        throw CaError(openssl_failure("the certificate is not a readable PEM certificate"),
                      CaError::Part::certificate);
    if (key_pem.find("ENCRYPTED") != std::string_view::npos)
        throw CaError("the private key is encrypted; give it without a pass phrase",
                      CaError::Part::key);
    EvpPkeyPtr key = read_private_key_pem(key_pem);
    if (!key)
        throw CaError(openssl_failure("the private key is not a readable PEM private key"),
                      CaError::Part::key);
    return from_parts(std::move(certificate), std::move(key));
}

std::shared_ptr<const CertificateAuthority> CertificateAuthority::from_parts(X509Ptr certificate,
                                                                             EvpPkeyPtr key) {
    if (!certificate) throw CaError("no certificate", CaError::Part::certificate);
    if (!key) throw CaError("no private key", CaError::Part::key);
    check_key_type(key.get());
    if (EVP_PKEY_eq(X509_get0_pubkey(certificate.get()), key.get()) != 1) {
        ERR_clear_error();
        throw CaError("the private key does not belong to the certificate", CaError::Part::pair);
    }
    check_may_sign_certificates(certificate.get());
    return std::make_shared<const CertificateAuthority>(Validated{}, std::move(certificate),
                                                        std::move(key));
}

std::string CertificateAuthority::key_pem() const {
    return private_key_pem(key_.get());
}

}  // namespace mproxy::proxy
