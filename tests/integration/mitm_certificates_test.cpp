// The certificates mproxy shows intercepted clients: IP SANs for address targets, leaves cached
// per name within the configured bound, a rotated CA seen by new connections only, the CA
// downloadable through the proxy, and a client that refuses the CA refused cleanly.

#include <openssl/x509_vfy.h>

#include <gtest/gtest.h>

#include "tests/support/https_transfer.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

class MitmCertificatesTest : public MitmFixture {
  protected:
    // A GET of /say/<word> through the proxy on a new client connection, trusting `ca_file`;
    // returns the leaf the client saw (nullopt if the transfer failed).
    std::optional<SeenCertificate> fetch(const std::string& ca_file, std::string_view host,
                                         const std::string& word = "ok") {
        HttpsTransfer get(ca_file);
        prepare(get, tls_origin.url("/say/" + word, host));
        const auto code = get.perform();
        EXPECT_EQ(code, CURLE_OK) << get.error_text();
        if (code != CURLE_OK) return std::nullopt;
        EXPECT_EQ(get.body_text(), word);
        return get.leaf_certificate();
    }

    proxy::LeafCacheStats stats() { return proxy().interception().minter().stats(); }

    TlsOrigin tls_origin{pki().localhost()};
};

TEST_F(MitmCertificatesTest, AnAddressTargetGetsAnIpSan) {
    const auto leaf = fetch(proxy_ca_file(), "127.0.0.1");  // no SNI: the CONNECT host decides
    ASSERT_TRUE(leaf);
    EXPECT_EQ(leaf->ip_addresses, std::vector<std::string>{"127.0.0.1"});
    EXPECT_TRUE(leaf->dns_names.empty()) << leaf->dns_names.front();
    EXPECT_TRUE(leaf->issuer_common_name.starts_with("mproxy CA")) << leaf->issuer;
    ASSERT_TRUE(tls_origin.wait_for_handshakes(1));
    const auto handshake = tls_origin.handshakes().front();
    EXPECT_TRUE(handshake.ok) << handshake.error;
    EXPECT_EQ(handshake.server_name, "") << "an address is never sent as SNI";
}

TEST_F(MitmCertificatesTest, ASecondConnectionForTheNameIsACacheHit) {
    const auto ca_file = proxy_ca_file();
    const auto before = stats();
    const auto first = fetch(ca_file, "localhost", "one");
    const auto after_first = stats();
    const auto second = fetch(ca_file, "localhost", "two");
    const auto after_second = stats();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(proxy().connections().opened_total(), 2u) << "the second fetch reused a connection";

    EXPECT_EQ(after_first.mints, before.mints + 1);
    EXPECT_EQ(after_first.misses, before.misses + 1);
    EXPECT_EQ(after_second.hits, after_first.hits + 1);
    EXPECT_EQ(after_second.mints, after_first.mints) << "the cached leaf was minted again";
    EXPECT_EQ(after_second.misses, after_first.misses);
    EXPECT_EQ(after_second.entries, 1u);
    EXPECT_EQ(certificate_fingerprint(first->pem), certificate_fingerprint(second->pem));
}

TEST_F(MitmCertificatesTest, TheLeafCacheIsBoundedByItsSize) {
    auto config = mitm_config();
    config.leaf_cache_size = 1;
    start_proxy(config);
    const auto ca_file = proxy_ca_file();
    const auto before = stats();
    ASSERT_TRUE(fetch(ca_file, "localhost"));
    ASSERT_TRUE(fetch(ca_file, "127.0.0.1"));  // evicts localhost's leaf
    ASSERT_TRUE(fetch(ca_file, "localhost"));
    const auto after = stats();
    EXPECT_EQ(after.capacity, 1u);
    EXPECT_EQ(after.entries, 1u);
    EXPECT_EQ(after.mints, before.mints + 3) << "localhost's leaf was not evicted";
    EXPECT_EQ(after.hits, before.hits);
}

TEST_F(MitmCertificatesTest, RotationReachesNewConnectionsAndSparesOpenOnes) {
    const auto old_ca = proxy().interception().ca_pem();
    const auto old_ca_file = proxy_ca_file();
    HttpsTransfer open(old_ca_file);
    prepare(open, tls_origin.url("/say/before"));
    ASSERT_EQ(open.perform(), CURLE_OK) << open.error_text();
    const auto old_leaf = open.leaf_certificate();
    ASSERT_TRUE(old_leaf);

    proxy().interception().rotate_ca();
    const auto new_ca = proxy().interception().ca_pem();
    ASSERT_NE(certificate_fingerprint(new_ca), certificate_fingerprint(old_ca));

    // The open connection keeps its leaf and goes on working.
    prepare(open, tls_origin.url("/say/after"));
    ASSERT_EQ(open.perform(), CURLE_OK) << open.error_text();
    EXPECT_EQ(open.body_text(), "after");
    EXPECT_EQ(open.connects_made(), 0) << "the intercepted connection did not survive rotation";

    // A new connection gets a leaf from the new CA: refused with the old one, accepted with it.
    HttpsTransfer stale(old_ca_file);
    prepare(stale, tls_origin.url("/say/stale"));
    EXPECT_EQ(stale.perform(), CURLE_PEER_FAILED_VERIFICATION) << stale.error_text();

    const auto new_ca_file = proxy_ca_file();
    HttpsTransfer fresh(new_ca_file);
    prepare(fresh, tls_origin.url("/say/fresh"));
    ASSERT_EQ(fresh.perform(), CURLE_OK) << fresh.error_text();
    EXPECT_EQ(fresh.body_text(), "fresh");
    const auto chain = fresh.certificates();
    ASSERT_GE(chain.size(), 2u);
    EXPECT_NE(certificate_fingerprint(chain[0].pem), certificate_fingerprint(old_leaf->pem));
    EXPECT_EQ(certificate_fingerprint(chain[1].pem), certificate_fingerprint(new_ca));
    EXPECT_EQ(chain[0].dns_names, std::vector<std::string>{"localhost"});
}

TEST_F(MitmCertificatesTest, TheCaIsDownloadableThroughTheProxyAndDirectly) {
    const auto expected = proxy().interception().ca_pem();
    ASSERT_TRUE(expected.starts_with("-----BEGIN CERTIFICATE-----")) << expected;

    CurlTransfer through;  // absolute-form to the proxy's own name: never leaves the proxy
    through.url("http://mproxy.local/ca.pem");
    through.via_proxy(proxy_port());
    ASSERT_EQ(through.perform(), CURLE_OK) << through.error_text();
    EXPECT_EQ(through.response_code(), 200);
    EXPECT_EQ(through.body_text(), expected);
    EXPECT_EQ(through.response_header("Content-Type"), "application/x-pem-file");

    CurlTransfer direct;
    direct.url("http://" + proxy_authority() + "/ca.pem");
    ASSERT_EQ(direct.perform(), CURLE_OK) << direct.error_text();
    EXPECT_EQ(direct.response_code(), 200);
    EXPECT_EQ(direct.body_text(), expected);

    // What was downloaded is enough to trust intercepted connections.
    const auto downloaded = pki().write_file(
        "downloaded-" + std::to_string(proxy_port()) + ".pem", through.body_text());
    const auto leaf = fetch(downloaded, "localhost");
    ASSERT_TRUE(leaf);
    EXPECT_EQ(leaf->dns_names, std::vector<std::string>{"localhost"});
}

class MitmUntrustingClientTest : public MitmCertificatesTest {
  protected:
    LogCapture log;  // installed before SetUp starts the proxy, removed after TearDown
};

TEST_F(MitmUntrustingClientTest, FailsItsHandshakeAndTheProxyServesTheNextClient) {
    HttpsTransfer untrusting(pki().ca_file());  // trusts the origins' CA, not the proxy's
    prepare(untrusting, tls_origin.url("/say/refused"));
    EXPECT_EQ(untrusting.perform(), CURLE_PEER_FAILED_VERIFICATION) << untrusting.error_text();
    EXPECT_NE(untrusting.verify_result(), X509_V_OK);
    EXPECT_TRUE(log.wait_for("client refused mproxy's certificate for localhost"))
        << "the refusal was not logged as such";
    EXPECT_TRUE(wait_for_no_connections()) << "the refused connection was kept open";
    EXPECT_EQ(tls_origin.routes().requests(), 0u);

    const auto leaf = fetch(proxy_ca_file(), "localhost", "next");
    ASSERT_TRUE(leaf);
    EXPECT_EQ(tls_origin.routes().requests(), 1u);
}

}  // namespace
}  // namespace mproxy::test
