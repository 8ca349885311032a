#include "proxy/tls/x509_fields.hpp"

#include <openssl/asn1.h>
#include <openssl/rand.h>

#include <ctime>
#include <stdexcept>
#include <string>

namespace mproxy::proxy {

namespace {

[[noreturn]] void fail(std::string_view what) {
    throw std::runtime_error(openssl_failure(what));
}

}  // namespace

X509Ptr new_v3_certificate() {
    X509Ptr certificate(X509_new());
    if (!certificate) fail("cannot allocate a certificate");
    if (X509_set_version(certificate.get(), X509_VERSION_3) != 1) fail("cannot set version 3");
    return certificate;
}

void set_random_serial(X509* certificate) {
    BignumPtr serial(BN_new());
    if (!serial) fail("cannot allocate a serial");
    do {
        if (BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
            fail("cannot draw a random serial");
    } while (BN_is_zero(serial.get()));  // RFC 5280 wants a positive serial
    Asn1IntegerPtr encoded(BN_to_ASN1_INTEGER(serial.get(), nullptr));
    if (!encoded || X509_set_serialNumber(certificate, encoded.get()) != 1)
        fail("cannot set the serial");
}

void set_validity(X509* certificate, system_time not_before, system_time not_after) {
    // ASN1_TIME_set picks UTCTime or GeneralizedTime by year, as RFC 5280 requires.
    if (ASN1_TIME_set(X509_getm_notBefore(certificate),
                      std::chrono::system_clock::to_time_t(not_before)) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(certificate),
                      std::chrono::system_clock::to_time_t(not_after)) == nullptr)
        fail("cannot set the validity period");
}

system_time to_system_time(const ASN1_TIME* time) {
    std::tm broken_down{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &broken_down) != 1)
        fail("unreadable certificate time");
    return std::chrono::system_clock::from_time_t(timegm(&broken_down));
}

void add_name_entry(X509_NAME* name, const char* field, std::string_view value) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes,
                                   static_cast<int>(value.size()), -1, 0) != 1)
        fail(std::string("cannot set the name attribute ") + field);
}

void add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
    X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
    if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1)
        fail(std::string("cannot add the extension ") + OBJ_nid2sn(nid) + " = " + value);
}

namespace {

void add_single_subject_alt_name(X509* certificate, GeneralNamePtr entry) {
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    if (!names || sk_GENERAL_NAME_push(names.get(), entry.get()) == 0)
        fail("cannot build subjectAltName");
    entry.release();  // now owned by `names`
    if (X509_add1_ext_i2d(certificate, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) !=
        1)
        fail("cannot add subjectAltName");
}

}  // namespace

void add_dns_subject_alt_name(X509* certificate, std::string_view dns_name) {
    GeneralNamePtr entry(GENERAL_NAME_new());
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    if (!entry || text == nullptr) {
        ASN1_IA5STRING_free(text);
        fail("cannot allocate a DNS name");
    }
    GENERAL_NAME_set0_value(entry.get(), GEN_DNS, text);  // `entry` owns `text` from here
    if (ASN1_STRING_set(text, dns_name.data(), static_cast<int>(dns_name.size())) != 1)
        fail("cannot set a DNS name");
    add_single_subject_alt_name(certificate, std::move(entry));
}

void add_ip_subject_alt_name(X509* certificate, const unsigned char* address, int length) {
    GeneralNamePtr entry(GENERAL_NAME_new());
    ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
    if (!entry || octets == nullptr) {
        ASN1_OCTET_STRING_free(octets);
        fail("cannot allocate an IP address name");
    }
    GENERAL_NAME_set0_value(entry.get(), GEN_IPADD, octets);
    if (ASN1_OCTET_STRING_set(octets, address, length) != 1) fail("cannot set an IP address name");
    add_single_subject_alt_name(certificate, std::move(entry));
}

void sign_certificate(X509* certificate, EVP_PKEY* issuer_key) {
    if (X509_sign(certificate, issuer_key, EVP_sha256()) <= 0) fail("cannot sign the certificate");
}

}  // namespace mproxy::proxy
