#include "proxy/tls/certificate_authority.hpp"

#include <gtest/gtest.h>

#include "tests/proxy/tls/x509_test_support.hpp"

namespace mproxy::proxy {
namespace {

using namespace testing_support;
using namespace std::chrono_literals;

constexpr long long hour = 3600;
constexpr long long day = 86400;

TEST(CertificateAuthority, GeneratedCaIsASelfSignedEcP256Ca) {
    const auto ca = CertificateAuthority::generate("testhost");
    X509* cert = ca->certificate();

    EXPECT_EQ(common_name(cert), "mproxy CA (testhost)");
    EXPECT_EQ(ca->subject(), "CN=mproxy CA (testhost),O=mproxy");
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
    EXPECT_EQ(X509_verify(cert, ca->key()), 1) << "self-signature";

    EXPECT_TRUE(EVP_PKEY_is_a(ca->key(), "EC"));
    char group[64] = {};
    ASSERT_EQ(EVP_PKEY_get_group_name(ca->key(), group, sizeof group, nullptr), 1);
    EXPECT_STREQ(group, "prime256v1");

    EXPECT_EQ(X509_check_ca(cert), 1);
    EXPECT_TRUE(extension_is_critical(cert, NID_basic_constraints));
    EXPECT_TRUE(extension_is_critical(cert, NID_key_usage));
    EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    EXPECT_NE(X509_get0_subject_key_id(cert), nullptr);
}

TEST(CertificateAuthority, GeneratedCaValidityAndSerial) {
    const auto ca = CertificateAuthority::generate("testhost");
    X509* cert = ca->certificate();
    EXPECT_NEAR(seconds_from_now(X509_get0_notBefore(cert)), -hour, 60);
    EXPECT_NEAR(seconds_from_now(X509_get0_notAfter(cert)), 3652 * day, 2 * day);

    const auto now = std::chrono::system_clock::now();
    EXPECT_LT(ca->not_before(), now - 59min);
    EXPECT_GT(ca->not_before(), now - 61min);
    EXPECT_GT(ca->not_after(), now + std::chrono::years{10} - std::chrono::days{2});

    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    EXPECT_FALSE(BN_is_negative(serial.get()));
    EXPECT_FALSE(BN_is_zero(serial.get()));
    EXPECT_LE(BN_num_bits(serial.get()), 128);
    EXPECT_GT(BN_num_bits(serial.get()), 64) << "random 128-bit serial is that short with p=2^-64";

    const auto other = CertificateAuthority::generate("testhost");
    EXPECT_NE(serial_hex(cert), serial_hex(other->certificate()));
    EXPECT_NE(ca->fingerprint_sha256(), other->fingerprint_sha256());
}

TEST(CertificateAuthority, LongHostNameIsCutToFitTheCommonName) {
    const std::string host(200, 'h');
    const auto ca = CertificateAuthority::generate(host);
    const std::string cn = common_name(ca->certificate());
    EXPECT_EQ(cn.size(), 64u);
    EXPECT_EQ(cn.rfind("mproxy CA (hhh", 0), 0u);
    EXPECT_EQ(cn.back(), ')');
}

TEST(CertificateAuthority, RoundTripsThroughPem) {
    const auto ca = CertificateAuthority::generate("roundtrip");
    const auto loaded = CertificateAuthority::from_pem(ca->certificate_pem(), ca->key_pem());
    EXPECT_EQ(loaded->fingerprint_sha256(), ca->fingerprint_sha256());
    EXPECT_EQ(loaded->subject(), ca->subject());
    EXPECT_EQ(loaded->not_before(), ca->not_before());
    EXPECT_EQ(loaded->not_after(), ca->not_after());
    EXPECT_EQ(loaded->certificate_pem(), ca->certificate_pem());
    EXPECT_EQ(loaded->key_pem(), ca->key_pem());
    EXPECT_EQ(EVP_PKEY_eq(loaded->key(), ca->key()), 1);
    EXPECT_EQ(ca->certificate_pem().rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
    EXPECT_EQ(ca->key_pem().rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

TEST(CertificateAuthority, FingerprintIsColonSeparatedSha256) {
    const auto ca = CertificateAuthority::generate("fp");
    const std::string fingerprint = ca->fingerprint_sha256();
    ASSERT_EQ(fingerprint.size(), 32u * 3 - 1) << fingerprint;
    for (std::size_t i = 0; i < fingerprint.size(); ++i) {
        const char c = fingerprint[i];
        if (i % 3 == 2)
            EXPECT_EQ(c, ':') << fingerprint;
        else
            EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << fingerprint;
    }
    unsigned char digest[32];
    unsigned int length = 0;
    ASSERT_EQ(X509_digest(ca->certificate(), EVP_sha256(), digest, &length), 1);
    char first[3];
    std::snprintf(first, sizeof first, "%02X", digest[0]);
    EXPECT_EQ(ca->fingerprint_sha256().substr(0, 2), first);
}

TEST(CertificateAuthority, ImportsAnRsaCa) {
    const PemPair pem = rsa_ca_pem();
    const auto ca = CertificateAuthority::from_pem(pem.certificate, pem.key);
    EXPECT_TRUE(EVP_PKEY_is_a(ca->key(), "RSA"));
    EXPECT_EQ(ca->subject(), "CN=Imported RSA CA");
}

CaError::Part refusal_part(std::string_view cert_pem, std::string_view key_pem,
                           std::string* message = nullptr) {
    try {
        CertificateAuthority::from_pem(cert_pem, key_pem);
    } catch (const CaError& error) {
        if (message != nullptr) *message = error.what();
        return error.part();
    }
    ADD_FAILURE() << "accepted";
    return CaError::Part::storage;
}

TEST(CertificateAuthority, RefusesUnreadablePem) {
    const auto ca = CertificateAuthority::generate("x");
    std::string message;
    EXPECT_EQ(refusal_part("not a certificate", ca->key_pem(), &message),
              CaError::Part::certificate);
    EXPECT_NE(message.find("certificate"), std::string::npos) << message;
    EXPECT_EQ(refusal_part("", ca->key_pem()), CaError::Part::certificate);
    EXPECT_EQ(refusal_part(ca->certificate_pem(), "garbage", &message), CaError::Part::key);
    EXPECT_NE(message.find("private key"), std::string::npos) << message;
    // A certificate where the key should be.
    EXPECT_EQ(refusal_part(ca->certificate_pem(), ca->certificate_pem()), CaError::Part::key);
    // Truncated in the middle of the base64.
    const std::string cut = ca->certificate_pem().substr(0, ca->certificate_pem().size() / 2);
    EXPECT_EQ(refusal_part(cut, ca->key_pem()), CaError::Part::certificate);
}

TEST(CertificateAuthority, RefusesAKeyOfAnotherCertificate) {
    const auto ca = CertificateAuthority::generate("a");
    const auto other = CertificateAuthority::generate("b");
    std::string message;
    EXPECT_EQ(refusal_part(ca->certificate_pem(), other->key_pem(), &message), CaError::Part::pair);
    EXPECT_NE(message.find("does not belong"), std::string::npos) << message;
    // RSA key with an EC certificate.
    EXPECT_EQ(refusal_part(ca->certificate_pem(), rsa_ca_pem().key), CaError::Part::pair);
}

TEST(CertificateAuthority, RefusesACertificateThatIsNotACa) {
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    const std::string key_pem = to_pem(key.get());

    std::string message;
    X509Ptr no_constraints = self_signed(key.get(), "plain", {});
    EXPECT_EQ(refusal_part(to_pem(no_constraints.get()), key_pem, &message),
              CaError::Part::certificate);
    EXPECT_NE(message.find("basicConstraints CA:TRUE"), std::string::npos) << message;

    X509Ptr leaf = self_signed(key.get(), "leaf", {{NID_basic_constraints, "critical,CA:FALSE"}});
    EXPECT_EQ(refusal_part(to_pem(leaf.get()), key_pem), CaError::Part::certificate);

    X509Ptr cannot_sign = self_signed(key.get(), "no keyCertSign",
                                      {{NID_basic_constraints, "critical,CA:TRUE"},
                                       {NID_key_usage, "critical,digitalSignature"}});
    EXPECT_EQ(refusal_part(to_pem(cannot_sign.get()), key_pem, &message),
              CaError::Part::certificate);
    EXPECT_NE(message.find("keyCertSign"), std::string::npos) << message;
}

TEST(CertificateAuthority, RefusesAnEncryptedKey) {
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr cert = self_signed(key.get(), "ca", {{NID_basic_constraints, "critical,CA:TRUE"}});
    BioPtr bio(BIO_new(BIO_s_mem()));
    static char pass[] = "secret";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), pass, 6,
                                            nullptr, nullptr),
              1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    std::string message;
    EXPECT_EQ(refusal_part(to_pem(cert.get()), std::string(data, length), &message),
              CaError::Part::key);
    EXPECT_NE(message.find("encrypted"), std::string::npos) << message;
}

TEST(CertificateAuthority, RefusesAShortRsaKey) {
    const PemPair pem = rsa_ca_pem(1024);
    std::string message;
    EXPECT_EQ(refusal_part(pem.certificate, pem.key, &message), CaError::Part::key);
    EXPECT_NE(message.find("2048"), std::string::npos) << message;
}

}  // namespace
}  // namespace mproxy::proxy
