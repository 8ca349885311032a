#include "proxy/tls/cert_minter.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "tests/proxy/tls/tls_handshake_support.hpp"
#include "tests/proxy/tls/x509_test_support.hpp"

namespace mproxy::proxy {
namespace {

using namespace testing_support;

constexpr long long hour = 3600;
constexpr long long day = 86400;

class CertMinterTest : public ::testing::Test {
  protected:
    std::shared_ptr<const CertificateAuthority> ca_ = CertificateAuthority::generate("minter-test");
    CertMinter minter_{ca_, 16};
};

TEST_F(CertMinterTest, DnsLeafVerifiesAgainstTheCaAlone) {
    const auto leaf = minter_.leaf_for("www.example.com");
    ASSERT_TRUE(leaf);
    EXPECT_EQ(leaf->name, "www.example.com");
    EXPECT_TRUE(
        verifies_for(leaf->certificate.get(), ca_->certificate(), "www.example.com", false));
    EXPECT_FALSE(verifies_for(leaf->certificate.get(), ca_->certificate(), "example.com", false));
    EXPECT_EQ(subject_alt_names(leaf->certificate.get()),
              std::vector<std::string>{"DNS:www.example.com"});
    EXPECT_EQ(common_name(leaf->certificate.get()), "www.example.com");
    EXPECT_EQ(X509_cmp(leaf->ca_certificate.get(), ca_->certificate()), 0);
}

TEST_F(CertMinterTest, LeafExtensionsSuitAServerOnly) {
    X509* cert = minter_.leaf_for("ext.example")->certificate.get();
    EXPECT_EQ(X509_check_ca(cert), 0);
    EXPECT_TRUE(extension_is_critical(cert, NID_basic_constraints));
    EXPECT_TRUE(extension_is_critical(cert, NID_key_usage));
    EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_SERVER));
    ASSERT_NE(X509_get0_authority_key_id(cert), nullptr);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert),
                                    X509_get0_subject_key_id(ca_->certificate())),
              0);
    EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
}

TEST_F(CertMinterTest, IpLeavesCarryIpSubjectAltNames) {
    const auto v4 = minter_.leaf_for("192.0.2.7");
    EXPECT_EQ(subject_alt_names(v4->certificate.get()), std::vector<std::string>{"IP:192.0.2.7"});
    EXPECT_TRUE(verifies_for(v4->certificate.get(), ca_->certificate(), "192.0.2.7", true));
    EXPECT_FALSE(verifies_for(v4->certificate.get(), ca_->certificate(), "192.0.2.8", true));

    const auto v6 = minter_.leaf_for("2001:DB8:0::1");
    EXPECT_EQ(v6->name, "2001:db8::1");
    EXPECT_EQ(subject_alt_names(v6->certificate.get()), std::vector<std::string>{"IP:2001:db8::1"});
    EXPECT_TRUE(verifies_for(v6->certificate.get(), ca_->certificate(), "2001:db8::1", true));
    EXPECT_EQ(common_name(v6->certificate.get()), "2001:db8::1");
    EXPECT_EQ(minter_.leaf_for("2001:db8::0:1"), v6) << "one leaf per address, however written";
}

TEST_F(CertMinterTest, ValidityStartsInThePastAndLastsAtMostThirtyDays) {
    X509* cert = minter_.leaf_for("time.example")->certificate.get();
    EXPECT_NEAR(seconds_from_now(X509_get0_notBefore(cert)), -hour, 60);
    const long long remaining = seconds_from_now(X509_get0_notAfter(cert));
    // Certificate times have whole seconds: the mint and this reading may straddle a second.
    EXPECT_LE(remaining, 30 * day + 1);
    EXPECT_GT(remaining, 30 * day - 60);
}

TEST_F(CertMinterTest, LeafNeverOutlivesItsCa) {
    // A CA that expires in a week, made outside the code under test.
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr cert = self_signed(
        key.get(), "short-lived CA",
        {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_subject_key_identifier, "hash"}});
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * day);
    X509_sign(cert.get(), key.get(), EVP_sha256());
    CertMinter minter(CertificateAuthority::from_parts(std::move(cert), std::move(key)), 4);
    const auto leaf = minter.leaf_for("soon.example");
    EXPECT_LE(seconds_from_now(X509_get0_notAfter(leaf->certificate.get())), 7 * day);
    EXPECT_TRUE(
        verifies_for(leaf->certificate.get(), minter.ca()->certificate(), "soon.example", false));
}

TEST_F(CertMinterTest, SerialsDifferAndTheKeyIsShared) {
    const auto a = minter_.leaf_for("a.example");
    const auto b = minter_.leaf_for("b.example");
    EXPECT_NE(serial_hex(a->certificate.get()), serial_hex(b->certificate.get()));
    EXPECT_EQ(a->key.get(), b->key.get());
    EXPECT_TRUE(EVP_PKEY_is_a(a->key.get(), "EC"));
    EXPECT_EQ(EVP_PKEY_get_bits(a->key.get()), 256);
}

TEST_F(CertMinterTest, LongNamesKeepTheirSanAndCutTheCommonName) {
    const std::string name = std::string(60, 'a') + "." + std::string(60, 'b') + ".example";
    const auto leaf = minter_.leaf_for(name);
    EXPECT_EQ(common_name(leaf->certificate.get()), name.substr(0, 64));
    EXPECT_EQ(subject_alt_names(leaf->certificate.get()), std::vector<std::string>{"DNS:" + name});
    EXPECT_TRUE(verifies_for(leaf->certificate.get(), ca_->certificate(), name, false));
}

TEST_F(CertMinterTest, RefusesWhatIsNeitherAHostNameNorAnAddress) {
    for (const std::string& bad : std::vector<std::string>{
             "", ".", "a..b", ".a", "bad name", "*.example.com", "[::1]", "fe80::1%eth0",
             "a,IP:1.2.3.4", "exa\nmple.com", std::string(64, 'x') + ".com", std::string(254, 'a'),
             std::string("nul\0byte", 8)}) {
        EXPECT_THROW(minter_.leaf_for(bad), std::invalid_argument) << bad;
        EXPECT_EQ(minter_.cached(bad), nullptr);
    }
    EXPECT_EQ(minter_.stats().mints, 0u);
}

TEST_F(CertMinterTest, CacheHitReturnsTheSameLeafWithoutMinting) {
    EXPECT_EQ(minter_.cached("hit.example"), nullptr);
    const auto first = minter_.leaf_for("hit.example");
    const auto second = minter_.leaf_for("hit.example");
    const auto third = minter_.cached("HIT.example.");
    EXPECT_EQ(first, second);
    EXPECT_EQ(first, third);
    const LeafCacheStats stats = minter_.stats();
    EXPECT_EQ(stats.mints, 1u);
    EXPECT_EQ(stats.misses, 1u);
    EXPECT_EQ(stats.hits, 2u);
    EXPECT_EQ(stats.entries, 1u);
    EXPECT_EQ(stats.capacity, 16u);
    EXPECT_GT(stats.total_mint_time.count(), 0);
}

TEST_F(CertMinterTest, LeastRecentlyUsedLeafIsEvictedAtCapacity) {
    CertMinter minter(ca_, 2);
    const auto a = minter.leaf_for("a.example");
    minter.leaf_for("b.example");
    EXPECT_EQ(minter.cached("a.example"), a);  // a is now the most recently used
    minter.leaf_for("c.example");
    EXPECT_EQ(minter.cached("b.example"), nullptr);
    EXPECT_EQ(minter.cached("a.example"), a);
    EXPECT_NE(minter.cached("c.example"), nullptr);
    EXPECT_EQ(minter.stats().entries, 2u);
    EXPECT_TRUE(verifies_for(a->certificate.get(), ca_->certificate(), "a.example", false));

    minter.leaf_for("b.example");
    EXPECT_EQ(minter.stats().mints, 4u) << "an evicted name is minted again";
}

TEST_F(CertMinterTest, ConcurrentRequestsForOneNameMintOnce) {
    constexpr int threads = 8;
    std::latch start(threads);
    std::vector<std::shared_ptr<const MintedLeaf>> leaves(threads);
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) {
        workers.emplace_back([&, i] {
            start.arrive_and_wait();
            leaves[i] = minter_.leaf_for("together.example");
        });
    }
    for (auto& worker : workers) worker.join();
    for (const auto& leaf : leaves) EXPECT_EQ(leaf, leaves[0]);
    const LeafCacheStats stats = minter_.stats();
    EXPECT_EQ(stats.mints, 1u);
    EXPECT_EQ(stats.hits + stats.misses, static_cast<std::uint64_t>(threads));
    EXPECT_EQ(stats.coalesced + 1, stats.misses);
}

TEST_F(CertMinterTest, ConcurrentRequestsForManyNamesStayConsistent) {
    CertMinter minter(ca_, 8);
    constexpr int threads = 4;
    std::latch start(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < 40; ++i) {
                std::string name = std::to_string((i * 7 + t) % 12);
                name.append(".example");
                const auto leaf = minter.leaf_for(name);
                EXPECT_EQ(leaf->name, name);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    const LeafCacheStats stats = minter.stats();
    EXPECT_EQ(stats.entries, 8u);
    EXPECT_EQ(stats.hits + stats.misses, 160u);
}

TEST_F(CertMinterTest, ReplacingTheCaEmptiesTheCacheAndOldLeavesStayUsable) {
    const auto old_leaf = minter_.leaf_for("rotate.example");
    const auto new_ca = CertificateAuthority::generate("rotated");
    minter_.replace_ca(new_ca);

    EXPECT_EQ(minter_.ca(), new_ca);
    EXPECT_EQ(minter_.stats().entries, 0u);
    EXPECT_EQ(minter_.cached("rotate.example"), nullptr);

    const auto new_leaf = minter_.leaf_for("rotate.example");
    EXPECT_NE(new_leaf, old_leaf);
    EXPECT_TRUE(
        verifies_for(new_leaf->certificate.get(), new_ca->certificate(), "rotate.example", false));
    EXPECT_FALSE(
        verifies_for(new_leaf->certificate.get(), ca_->certificate(), "rotate.example", false));

    // The old CA object may be gone from everywhere but the leaf: its handshake still works.
    const std::string old_ca_pem = ca_->certificate_pem();
    ca_.reset();
    X509Ptr old_ca_certificate = share_certificate(old_leaf->ca_certificate.get());
    EXPECT_TRUE(verifies_for(old_leaf->certificate.get(), old_ca_certificate.get(),
                             "rotate.example", false));
    const auto outcome = handshake(old_leaf->server_context.native_handle(),
                                   old_ca_certificate.get(), {.server_name = "rotate.example"});
    EXPECT_TRUE(outcome.completed) << outcome.failure;
}

TEST_F(CertMinterTest, PurgeEmptiesTheCache) {
    minter_.leaf_for("p.example");
    minter_.purge();
    EXPECT_EQ(minter_.stats().entries, 0u);
    EXPECT_EQ(minter_.cached("p.example"), nullptr);
}

TEST_F(CertMinterTest, ImportedRsaCaMintsLeavesThatVerify) {
    const PemPair pem = rsa_ca_pem();
    const auto rsa_ca = CertificateAuthority::from_pem(pem.certificate, pem.key);
    CertMinter minter(rsa_ca, 4);
    const auto leaf = minter.leaf_for("rsa.example");
    EXPECT_TRUE(verifies_for(leaf->certificate.get(), rsa_ca->certificate(), "rsa.example", false));
    EXPECT_EQ(X509_get_signature_nid(leaf->certificate.get()), NID_sha256WithRSAEncryption);
    const auto outcome = handshake(leaf->server_context.native_handle(), rsa_ca->certificate(),
                                   {.server_name = "rsa.example"});
    EXPECT_TRUE(outcome.completed) << outcome.failure;
}

TEST_F(CertMinterTest, ServerContextShakesHandsWithAClientTrustingTheCa) {
    const auto leaf = minter_.leaf_for("tls.example");
    const auto outcome = handshake(leaf->server_context.native_handle(), ca_->certificate(),
                                   {.server_name = "tls.example", .alpn = {"h2", "http/1.1"}});
    ASSERT_TRUE(outcome.completed) << outcome.failure;
    EXPECT_EQ(outcome.alpn, "http/1.1");
    EXPECT_EQ(outcome.version, TLS1_3_VERSION);

    const auto ip_leaf = minter_.leaf_for("198.51.100.4");
    const auto ip_outcome = handshake(ip_leaf->server_context.native_handle(), ca_->certificate(),
                                      {.server_name = "198.51.100.4", .name_is_ip = true});
    EXPECT_TRUE(ip_outcome.completed) << ip_outcome.failure;

    const auto other = CertificateAuthority::generate("untrusted");
    EXPECT_FALSE(handshake(leaf->server_context.native_handle(), other->certificate(),
                           {.server_name = "tls.example"})
                     .completed);
}

TEST_F(CertMinterTest, ClientOfferingOnlyH2GetsNoAlpnRatherThanAnAlert) {
    const auto leaf = minter_.leaf_for("h2.example");
    const auto outcome = handshake(leaf->server_context.native_handle(), ca_->certificate(),
                                   {.server_name = "h2.example", .alpn = {"h2"}});
    ASSERT_TRUE(outcome.completed) << outcome.failure;
    EXPECT_EQ(outcome.alpn, "");
}

TEST_F(CertMinterTest, TlsBelowOnePointTwoIsRefused) {
    const auto leaf = minter_.leaf_for("old.example");
    EXPECT_FALSE(handshake(leaf->server_context.native_handle(), ca_->certificate(),
                           {.server_name = "old.example", .max_version = TLS1_1_VERSION})
                     .completed);
    const auto tls12 = handshake(leaf->server_context.native_handle(), ca_->certificate(),
                                 {.server_name = "old.example", .max_version = TLS1_2_VERSION});
    EXPECT_TRUE(tls12.completed) << tls12.failure;
}

TEST_F(CertMinterTest, Tls12SessionsResume) {
    const auto leaf = minter_.leaf_for("resume.example");
    SSL_CTX* server = leaf->server_context.native_handle();
    const auto first = handshake(server, ca_->certificate(),
                                 {.server_name = "resume.example", .max_version = TLS1_2_VERSION});
    ASSERT_TRUE(first.completed) << first.failure;
    ASSERT_TRUE(first.session);
    const auto second = handshake(server, ca_->certificate(),
                                  {.server_name = "resume.example",
                                   .max_version = TLS1_2_VERSION,
                                   .resume = first.session.get()});
    ASSERT_TRUE(second.completed) << second.failure;
    EXPECT_TRUE(second.resumed);
}

// Not a pass/fail check: prints what a cold mint costs on this machine.
TEST_F(CertMinterTest, ColdMintTime) {
    constexpr int names = 100;
    CertMinter minter(ca_, names);
    for (int i = 0; i < names; ++i) minter.leaf_for(std::to_string(i).append(".cold.example"));
    const LeafCacheStats stats = minter.stats();
    ASSERT_EQ(stats.mints, static_cast<std::uint64_t>(names));
    const auto average = stats.total_mint_time / names;
    RecordProperty(
        "average_mint_microseconds",
        static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(average).count()));
    std::cout << "[ cold mint ] average over " << names
              << " mints: " << std::chrono::duration<double, std::micro>(average).count()
              << " us\n";
}

}  // namespace
}  // namespace mproxy::proxy
