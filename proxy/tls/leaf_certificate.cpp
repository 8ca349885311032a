#include "proxy/tls/leaf_certificate.hpp"

#include <algorithm>
#include <stdexcept>

namespace mproxy::proxy {

namespace {

using namespace std::chrono_literals;

constexpr auto leaf_backdating = 1h;
constexpr auto leaf_lifetime = std::chrono::days{30};
constexpr std::size_t common_name_limit = 64;  // ub-common-name, RFC 5280

}  // namespace

X509Ptr build_leaf_certificate(const CertificateAuthority& ca, EVP_PKEY* leaf_key,
                               const LeafName& name, system_time now) {
    X509Ptr certificate = new_v3_certificate();
    X509* cert = certificate.get();
    set_random_serial(cert);
    set_validity(cert, now - leaf_backdating, std::min(now + leaf_lifetime, ca.not_after()));

    // Clients match the subjectAltName; the common name is for people reading the certificate,
    // so a long name is cut to the length the field allows.
    X509NamePtr subject(X509_NAME_new());
    if (!subject) throw std::runtime_error(openssl_failure("cannot allocate a leaf name"));
    add_name_entry(subject.get(), "CN", std::string_view(name.text).substr(0, common_name_limit));
    if (X509_set_subject_name(cert, subject.get()) != 1 ||
        X509_set_issuer_name(cert, X509_get_subject_name(ca.certificate())) != 1 ||
        X509_set_pubkey(cert, leaf_key) != 1)
        throw std::runtime_error(openssl_failure("cannot fill in the leaf certificate"));

    if (name.kind == LeafName::Kind::dns)
        add_dns_subject_alt_name(cert, name.text);
    else
        add_ip_subject_alt_name(cert, name.address.data(), name.address_length());
    add_extension(cert, ca.certificate(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, ca.certificate(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert, ca.certificate(), NID_ext_key_usage, "serverAuth");
    // The key identifier when the CA has one (ours always do); issuer and serial for an imported
    // CA without a subjectKeyIdentifier.
    add_extension(cert, ca.certificate(), NID_authority_key_identifier, "keyid,issuer");
    sign_certificate(cert, ca.key());
    return certificate;
}

}  // namespace mproxy::proxy
