// CertificatesService over a real channel, with the proxy intercepting every CONNECT: the CA it
// reports is the one clients see as the issuer of their leaves, before and after a rotation or an
// import; bad imports are refused naming the field and change nothing; the leaf cache's counters
// follow real intercepted requests.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>

#include "proxy/tls/tls_interception.hpp"
#include "tests/control/control_fixture.hpp"
#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

// The origins' PKI, which the proxy trusts for upstream verification.
TestPki& origin_pki() {
    static TestPki shared("control test origin CA");
    return shared;
}

// "AB:CD:..." and "abcd..." name the same digest.
std::string plain_hex(std::string text) {
    std::erase(text, ':');
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::chrono::system_clock::time_point to_time(const google::protobuf::Timestamp& t) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos())));
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class CertificatesServiceTest : public ControlFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = ControlFixture::config();
        c.connect_action = proxy::ConnectAction::mitm;
        c.upstream_ca_file = origin_pki().ca_file();
        c.leaf_cache_size = leaf_cache_size;
        return c;
    }

    v1::CertificateAuthority get_ca() {
        v1::CertificateAuthority ca;
        const auto status = certificates->GetCA(call().get(), {}, &ca);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return ca;
    }

    v1::LeafCacheStats stats() {
        v1::LeafCacheStats out;
        const auto status = certificates->GetLeafCacheStats(call().get(), {}, &out);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return out;
    }

    grpc::Status import(const std::string& certificate, const std::string& key,
                        v1::CertificateAuthority& out) {
        v1::ImportCARequest request;
        request.set_certificate_pem(certificate);
        request.set_private_key_pem(key);
        return certificates->ImportCA(call().get(), request, &out);
    }

    // A file holding `pem`, for a client's CAINFO.
    std::string ca_file(const std::string& pem) {
        static std::atomic<unsigned> written{0};
        return origin_pki().write_file("trusted-" + std::to_string(written++) + ".pem", pem);
    }

    // A GET through the intercepting proxy on a new connection, trusting only `ca_pem`; the chain
    // the client was shown (leaf first), empty when the transfer failed with `code`.
    std::vector<SeenCertificate> fetch(const std::string& ca_pem, CURLcode expected = CURLE_OK,
                                       std::string_view host = "localhost") {
        HttpsTransfer get(ca_file(ca_pem));
        get.url(tls_origin.url("/say/hello", host));
        get.via_proxy(proxy_port());
        const auto code = get.perform();
        EXPECT_EQ(code, expected) << get.error_text();
        if (code != CURLE_OK) return {};
        EXPECT_EQ(get.body_text(), "hello");
        return get.certificates();
    }

    std::size_t leaf_cache_size = 1024;
    TlsOrigin tls_origin{origin_pki().localhost()};
};

TEST_F(CertificatesServiceTest, GetCaDescribesTheCertificateItReturns) {
    const auto ca = get_ca();
    EXPECT_EQ(ca.certificate_pem(), proxy().interception().ca_pem());
    const auto parsed = parse_certificate(ca.certificate_pem());
    ASSERT_TRUE(parsed) << "the PEM does not parse: " << ca.certificate_pem();
    const auto digest =
        certificate_fingerprint(ca.certificate_pem());  // computed here with OpenSSL
    ASSERT_EQ(digest.size(), 64u);
    EXPECT_EQ(plain_hex(ca.fingerprint_sha256()), digest);
    EXPECT_EQ(ca.fingerprint_sha256().size(), 32u * 3 - 1) << "hex bytes joined by colons";

    EXPECT_EQ(to_time(ca.not_before()), parsed->not_before);
    EXPECT_EQ(to_time(ca.not_after()), parsed->not_after);
    const auto now = std::chrono::system_clock::now();
    EXPECT_LT(to_time(ca.not_before()), now);
    EXPECT_GT(to_time(ca.not_after()), now + std::chrono::hours(24 * 365));
    EXPECT_NE(ca.subject().find("CN=mproxy CA"), std::string::npos) << ca.subject();
    EXPECT_NE(parsed->common_name.find("mproxy CA"), std::string::npos) << parsed->subject;
}

TEST_F(CertificatesServiceTest, RotateCaReachesNewConnections) {
    const auto old_ca = get_ca();
    const auto before = fetch(old_ca.certificate_pem());
    ASSERT_GE(before.size(), 2u);
    EXPECT_EQ(certificate_fingerprint(before[1].pem), plain_hex(old_ca.fingerprint_sha256()));

    v1::CertificateAuthority rotated;
    const auto status = certificates->RotateCA(call().get(), {}, &rotated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_NE(rotated.fingerprint_sha256(), old_ca.fingerprint_sha256());
    EXPECT_EQ(plain_hex(rotated.fingerprint_sha256()),
              certificate_fingerprint(rotated.certificate_pem()));
    EXPECT_EQ(get_ca().fingerprint_sha256(), rotated.fingerprint_sha256());
    EXPECT_EQ(read_file(state_dir() / "ca.pem"), rotated.certificate_pem())
        << "the new CA was not persisted";

    fetch(old_ca.certificate_pem(), CURLE_PEER_FAILED_VERIFICATION);  // a new leaf, from the new CA
    const auto after = fetch(rotated.certificate_pem());
    ASSERT_GE(after.size(), 2u);
    EXPECT_EQ(certificate_fingerprint(after[1].pem), plain_hex(rotated.fingerprint_sha256()));
    EXPECT_EQ(after[0].issuer, after[1].subject);
    EXPECT_NE(certificate_fingerprint(after[0].pem), certificate_fingerprint(before[0].pem));
}

TEST_F(CertificatesServiceTest, ImportCaInstallsTheGivenCa) {
    TestPki other("imported control CA");
    v1::CertificateAuthority imported;
    const auto status = import(other.ca().certificate_pem, other.ca().private_key_pem, imported);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(plain_hex(imported.fingerprint_sha256()),
              certificate_fingerprint(other.ca().certificate_pem));
    EXPECT_NE(imported.subject().find("imported control CA"), std::string::npos)
        << imported.subject();
    EXPECT_EQ(get_ca().fingerprint_sha256(), imported.fingerprint_sha256());
    EXPECT_EQ(read_file(state_dir() / "ca.pem"), imported.certificate_pem());

    // A client trusting only the imported CA accepts the leaf it is shown.
    const auto chain = fetch(other.ca().certificate_pem);
    ASSERT_GE(chain.size(), 2u);
    EXPECT_EQ(chain[0].issuer_common_name, "imported control CA");
    EXPECT_EQ(certificate_fingerprint(chain[1].pem),
              certificate_fingerprint(other.ca().certificate_pem));
}

TEST_F(CertificatesServiceTest, ImportCaRefusesBadInputNamingTheFieldAndKeepsTheCa) {
    const auto original = get_ca();
    TestPki other("mismatched control CA");
    const auto& origin_ca = origin_pki().ca();
    struct Case {
        std::string what, certificate, key, field;
    };
    const std::vector<Case> cases = {
        {"no certificate", "", origin_ca.private_key_pem, "certificate_pem"},
        {"no key", origin_ca.certificate_pem, "", "private_key_pem"},
        {"garbage certificate",
         "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
         origin_ca.private_key_pem, "certificate_pem"},
        {"not PEM at all", "hello", origin_ca.private_key_pem, "certificate_pem"},
        {"a server certificate, no CA", origin_pki().localhost().certificate_pem,
         origin_pki().localhost().private_key_pem, "certificate_pem"},
        {"garbage key", origin_ca.certificate_pem,
         "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private_key_pem"},
        {"another CA's key", origin_ca.certificate_pem, other.ca().private_key_pem,
         "private_key_pem"},
    };
    for (const auto& c : cases) {
        v1::CertificateAuthority out;
        const auto status = import(c.certificate, c.key, out);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << c.what << ": " << status.error_message();
        EXPECT_TRUE(status.error_message().starts_with(c.field + ": "))
            << c.what << ": " << status.error_message();
        EXPECT_EQ(get_ca().fingerprint_sha256(), original.fingerprint_sha256())
            << c.what << " changed the CA";
    }
    EXPECT_EQ(read_file(state_dir() / "ca.pem"), original.certificate_pem());
    const auto chain =
        fetch(original.certificate_pem());  // interception still uses the original CA
    ASSERT_GE(chain.size(), 2u);
    EXPECT_EQ(certificate_fingerprint(chain[1].pem), plain_hex(original.fingerprint_sha256()));
}

TEST_F(CertificatesServiceTest, LeafCacheStatsFollowMintsHitsAndPurges) {
    const auto ca = get_ca().certificate_pem();
    const auto start = stats();
    EXPECT_EQ(start.capacity(), 1024u);
    EXPECT_EQ(start.entries(), 0u);

    ASSERT_FALSE(fetch(ca).empty());
    const auto first = stats();
    EXPECT_EQ(first.misses(), start.misses() + 1);
    EXPECT_EQ(first.mints(), start.mints() + 1);
    EXPECT_EQ(first.entries(), 1u);
    EXPECT_GT(first.total_mint_time().seconds() * 1'000'000'000 + first.total_mint_time().nanos(),
              0);

    ASSERT_FALSE(fetch(ca).empty());  // a new connection for the same name
    const auto second = stats();
    EXPECT_EQ(second.hits(), first.hits() + 1);
    EXPECT_EQ(second.mints(), first.mints()) << "the cached leaf was minted again";
    EXPECT_EQ(second.entries(), 1u);

    v1::PurgeLeafCacheResponse purged;
    ASSERT_TRUE(certificates->PurgeLeafCache(call().get(), {}, &purged).ok());
    EXPECT_EQ(purged.purged(), 1u);
    EXPECT_EQ(stats().entries(), 0u);

    ASSERT_FALSE(fetch(ca).empty());
    const auto third = stats();
    EXPECT_EQ(third.mints(), second.mints() + 1) << "a purged leaf came from the cache";
    EXPECT_EQ(third.entries(), 1u);
    EXPECT_EQ(third.evictions(), 0u) << "a purge is no eviction";
}

TEST_F(CertificatesServiceTest, EvictionsAreCountedAtCapacity) {
    leaf_cache_size = 1;
    restart();
    const auto ca = get_ca().certificate_pem();
    ASSERT_FALSE(fetch(ca, CURLE_OK, "localhost").empty());
    ASSERT_FALSE(fetch(ca, CURLE_OK, "127.0.0.1").empty());  // evicts localhost's leaf
    const auto after = stats();
    EXPECT_EQ(after.capacity(), 1u);
    EXPECT_EQ(after.entries(), 1u);
    EXPECT_EQ(after.evictions(), 1u);
    EXPECT_EQ(after.mints(), 2u);
}

TEST_F(CertificatesServiceTest, RefusesCallsWithoutTheToken) {
    const auto original = get_ca();
    v1::CertificateAuthority out;
    EXPECT_EQ(certificates->RotateCA(call("").get(), {}, &out).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    TestPki other("unauthenticated import CA");
    v1::ImportCARequest request;
    request.set_certificate_pem(other.ca().certificate_pem);
    request.set_private_key_pem(other.ca().private_key_pem);
    EXPECT_EQ(
        certificates->ImportCA(call("wrong-token-0123456789").get(), request, &out).error_code(),
        grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(get_ca().fingerprint_sha256(), original.fingerprint_sha256());
}

// The CA from files (--ca-cert/--ca-key, as a Kubernetes Secret mounts them): rotation and import
// are refused, naming the file, and nothing changes, in memory or on disk.
class CertificatesFromFilesTest : public CertificatesServiceTest {
  protected:
    proxy::ProxyConfig config() override {
        auto c = CertificatesServiceTest::config();
        c.ca_cert_file = mounted.write_file("mounted-ca.pem", mounted.ca().certificate_pem);
        c.ca_key_file = mounted.write_file("mounted-ca.key", mounted.ca().private_key_pem);
        return c;
    }

    TestPki mounted{"mounted control CA"};
};

TEST_F(CertificatesFromFilesTest, RotationAndImportAreRefusedNamingTheFile) {
    const auto original = get_ca();
    EXPECT_EQ(plain_hex(original.fingerprint_sha256()),
              certificate_fingerprint(mounted.ca().certificate_pem));
    const auto file = config().ca_cert_file;

    v1::CertificateAuthority out;
    auto status = certificates->RotateCA(call().get(), {}, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
    EXPECT_NE(status.error_message().find("--ca-cert " + file), std::string::npos)
        << status.error_message();

    TestPki other("import over a mounted CA");
    status = import(other.ca().certificate_pem, other.ca().private_key_pem, out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();

    EXPECT_EQ(get_ca().fingerprint_sha256(), original.fingerprint_sha256());
    EXPECT_EQ(read_file(file), mounted.ca().certificate_pem) << "the mounted file was touched";
    EXPECT_FALSE(std::filesystem::exists(state_dir() / "ca.pem"))
        << "nothing written to the state directory";
    const auto chain =
        fetch(mounted.ca().certificate_pem);  // interception goes on with the mounted CA
    ASSERT_GE(chain.size(), 2u);
    EXPECT_EQ(chain[0].issuer_common_name, "mounted control CA");
}

}  // namespace
}  // namespace mproxy::test
