#include "tests/support/test_pki.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cerrno>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace mproxy::test {

namespace {

template <auto free_function>
struct Deleter {
    template <class T>
    void operator()(T* p) const {
        free_function(p);
    }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

[[noreturn]] void fail(const std::string& what) {
    std::string reason = what;
    if (const unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        reason += ": ";
        reason += text;
    }
    ERR_clear_error();
    throw std::runtime_error("test PKI: " + reason);
}

void check(int ok, const std::string& what) {
    if (ok <= 0) fail(what);
}

KeyPtr new_p256_key() {
    KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("generating an EC P-256 key");
    return key;
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0),
          std::string("setting ") + field);
}

// `issuer` is the certificate itself for a self-signed one.
void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (!extension) fail("building extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
    const int added = X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
    check(added, "adding an extension");
}

// A certificate with a random serial, the subject, validity and public key set; not signed.
CertPtr new_certificate(const std::string& common_name, EVP_PKEY* key,
                        std::chrono::seconds not_before, std::chrono::seconds not_after) {
    CertPtr certificate(X509_new());
    if (!certificate) fail("X509_new");
    check(X509_set_version(certificate.get(), X509_VERSION_3), "setting the version");
    BnPtr serial(BN_new());
    if (!serial) fail("BN_new");
    check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "a random serial");
    if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())))
        fail("setting the serial");
    if (!X509_gmtime_adj(X509_getm_notBefore(certificate.get()), not_before.count()) ||
        !X509_gmtime_adj(X509_getm_notAfter(certificate.get()), not_after.count()))
        fail("setting the validity");
    X509_NAME* subject = X509_get_subject_name(certificate.get());
    add_name_entry(subject, "CN", common_name);
    add_name_entry(subject, "O", "mproxy tests");
    check(X509_set_pubkey(certificate.get(), key), "setting the public key");
    return certificate;
}

std::string to_pem(X509* certificate) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || !PEM_write_bio_X509(bio.get(), certificate)) fail("writing a certificate");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
        fail("writing a private key");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string join_alt_names(const ServerCertificateSpec& spec) {
    std::vector<std::string> entries;
    for (const auto& name : spec.dns_names) entries.push_back("DNS:" + name);
    for (const auto& ip : spec.ip_addresses) entries.push_back("IP:" + ip);
    std::string out;
    for (const auto& entry : entries) {
        if (!out.empty()) out.push_back(',');
        out.append(entry);
    }
    return out;
}

}  // namespace

struct TestPki::Authority {
    KeyPtr key;
    CertPtr certificate;
};

TestPki::TestPki(std::string ca_name)
    : ca_name_(std::move(ca_name)), authority_(std::make_unique<Authority>()) {
    authority_->key = new_p256_key();
    authority_->certificate =
        new_certificate(ca_name_, authority_->key.get(), -std::chrono::hours(24),
                        std::chrono::hours(24 * 365 * 10));
    X509* ca = authority_->certificate.get();
    check(X509_set_issuer_name(ca, X509_get_subject_name(ca)), "setting the CA's issuer");
    add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(ca, ca, NID_subject_key_identifier, "hash");
    add_extension(ca, ca, NID_authority_key_identifier, "keyid:always");
    check(X509_sign(ca, authority_->key.get(), EVP_sha256()), "signing the CA certificate");
    ca_ = {to_pem(ca), to_pem(authority_->key.get())};

    char directory_template[] = "/tmp/mproxy-pki-XXXXXX";
    if (!mkdtemp(directory_template))
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    directory_ = directory_template;
    ca_file_ = write_file("ca.pem", ca_.certificate_pem);

    localhost_ = issue({"localhost", {"localhost"}, {"127.0.0.1"}});
    expired_ = issue({"localhost",
                      {"localhost"},
                      {"127.0.0.1"},
                      -std::chrono::hours(24 * 30),
                      -std::chrono::hours(24)});
    wrong_name_ = issue({"wrong.example", {"wrong.example"}, {}});
}

TestPki::~TestPki() {
    std::error_code ignored;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
}

CertifiedKey TestPki::issue(const ServerCertificateSpec& spec) const {
    KeyPtr key = new_p256_key();
    CertPtr certificate =
        new_certificate(spec.common_name, key.get(), spec.not_before, spec.not_after);
    X509* leaf = certificate.get();
    X509* ca = authority_->certificate.get();
    check(X509_set_issuer_name(leaf, X509_get_subject_name(ca)), "setting the issuer");
    add_extension(leaf, ca, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(leaf, ca, NID_key_usage, "critical,digitalSignature");
    add_extension(leaf, ca, NID_ext_key_usage, spec.client_auth ? "serverAuth,clientAuth" : "serverAuth");
    const std::string alt_names = join_alt_names(spec);
    if (!alt_names.empty()) add_extension(leaf, ca, NID_subject_alt_name, alt_names);
    add_extension(leaf, ca, NID_subject_key_identifier, "hash");
    add_extension(leaf, ca, NID_authority_key_identifier, "keyid:always");
    check(X509_sign(leaf, authority_->key.get(), EVP_sha256()), "signing a server certificate");
    return {to_pem(leaf), to_pem(key.get())};
}

std::string TestPki::write_file(const std::string& name, const std::string& contents) const {
    const std::string path = directory_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
    out.close();
    if (!out) throw std::runtime_error("test PKI: cannot write " + path);
    return path;
}

}  // namespace mproxy::test
