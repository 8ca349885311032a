#pragma once
// Checks on certificates for the CA and minter tests, done with OpenSSL's own verifier and
// handshake rather than with the code under test, plus certificates made independently of it
// (an RSA CA, a non-CA) to feed it.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <chrono>
#include <string>
#include <vector>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy::testing_support {

// Chain verification as a TLS client would do it, with `ca` the only trust anchor, then the name
// check: X509_check_ip_asc for an address, X509_check_host otherwise.
inline ::testing::AssertionResult verifies_for(X509* leaf, X509* ca, const std::string& name,
                                               bool name_is_ip) {
    X509StorePtr store(X509_STORE_new());
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!store || !context || X509_STORE_add_cert(store.get(), ca) != 1 ||
        X509_STORE_CTX_init(context.get(), store.get(), leaf, nullptr) != 1 ||
        X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_SERVER) != 1)
        return ::testing::AssertionFailure() << openssl_failure("cannot set up verification");
    if (X509_verify_cert(context.get()) != 1)
        return ::testing::AssertionFailure()
               << "chain does not verify: "
               << X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.get()));
    const int matched = name_is_ip ? X509_check_ip_asc(leaf, name.c_str(), 0)
                                   : X509_check_host(leaf, name.c_str(), name.size(), 0, nullptr);
    if (matched != 1) return ::testing::AssertionFailure() << "name " << name << " does not match";
    return ::testing::AssertionSuccess();
}

// "DNS:<name>" and "IP:<address>" entries of the subjectAltName.
inline std::vector<std::string> subject_alt_names(X509* certificate) {
    std::vector<std::string> names;
    GeneralNamesPtr general(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
    if (!general) return names;
    for (int i = 0; i < sk_GENERAL_NAME_num(general.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(general.get(), i);
        if (name->type == GEN_DNS) {
            const ASN1_IA5STRING* text = name->d.dNSName;
            names.push_back("DNS:" +
                            std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                        static_cast<std::size_t>(ASN1_STRING_length(text))));
        } else if (name->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* octets = name->d.iPAddress;
            const int length = ASN1_STRING_length(octets);
            char text[INET6_ADDRSTRLEN] = "?";
            if (length == 4 || length == 16)
                inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(octets), text,
                          sizeof text);
            names.push_back("IP:" + std::string(text));
        } else {
            names.push_back("other");
        }
    }
    return names;
}

inline std::string common_name(X509* certificate) {
    X509_NAME* subject = X509_get_subject_name(certificate);
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<std::size_t>(ASN1_STRING_length(data)));
}

inline bool extension_is_critical(X509* certificate, int nid) {
    const int index = X509_get_ext_by_NID(certificate, nid, -1);
    return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(certificate, index)) == 1;
}

// Seconds from now to `time`, negative in the past.
inline long long seconds_from_now(const ASN1_TIME* time) {
    int days = 0;
    int seconds = 0;
    EXPECT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, time), 1);
    return static_cast<long long>(days) * 86400 + seconds;
}

inline std::string serial_hex(X509* certificate) {
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
    char* hex = BN_bn2hex(serial.get());
    std::string text(hex);
    OPENSSL_free(hex);
    return text;
}

inline std::string to_pem(X509* certificate) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), certificate);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

inline std::string to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

// A self-signed certificate for `key` with the given extensions (OpenSSL configuration syntax),
// made with OpenSSL directly so the CA code is tested against certificates it did not make.
inline X509Ptr self_signed(EVP_PKEY* key, const std::string& common_name,
                           const std::vector<std::pair<int, std::string>>& extensions) {
    X509Ptr certificate(X509_new());
    X509_set_version(certificate.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 4242);
    X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 365L * 86400);
    X509_NAME* name = X509_get_subject_name(certificate.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(certificate.get(), name);
    X509_set_pubkey(certificate.get(), key);
    for (const auto& [nid, value] : extensions) {
        X509V3_CTX context;
        X509V3_set_ctx(&context, certificate.get(), certificate.get(), nullptr, nullptr, 0);
        X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str()));
        EXPECT_TRUE(extension) << value;
        if (extension) X509_add_ext(certificate.get(), extension.get(), -1);
    }
    EXPECT_GT(X509_sign(certificate.get(), key, EVP_sha256()), 0);
    return certificate;
}

struct PemPair {
    std::string certificate;
    std::string key;
};

inline PemPair rsa_ca_pem(int bits = 2048) {
    EvpPkeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
    X509Ptr certificate = self_signed(key.get(), "Imported RSA CA",
                                      {{NID_basic_constraints, "critical,CA:TRUE"},
                                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                       {NID_subject_key_identifier, "hash"}});
    return {to_pem(certificate.get()), to_pem(key.get())};
}

}  // namespace mproxy::proxy::testing_support
