// The origin behind an intercepted connection is verified as a browser would verify it (system
// store plus the configured extra anchor, name from the client's SNI). When it fails, the client,
// whose own handshake with the proxy succeeded, gets a 502 saying why; with upstream_insecure
// the origin is not verified at all.

#include <gtest/gtest.h>

#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

class MitmOriginVerificationTest : public MitmFixture {
  protected:
    // A GET of /bytes/100 from `origin` as https://localhost:<port>, through the proxy.
    void get_from(TlsOrigin& origin, HttpsTransfer& get) {
        prepare(get, origin.url("/bytes/100"));
        ASSERT_EQ(get.perform(), CURLE_OK)
            << "the client's handshake with the proxy must succeed: " << get.error_text();
        const auto leaf = get.leaf_certificate();
        ASSERT_TRUE(leaf);
        EXPECT_TRUE(leaf->issuer_common_name.starts_with("mproxy CA")) << leaf->issuer;
    }

    // The 502 the proxy answers with; its body names the reason.
    void expect_bad_gateway(TlsOrigin& origin, const std::string& reason) {
        HttpsTransfer get(proxy_ca_file());
        get_from(origin, get);
        EXPECT_EQ(get.response_code(), 502);
        EXPECT_TRUE(contains_text(get.body_text(), reason)) << get.body_text();
        EXPECT_EQ(origin.routes().requests(), 0u) << "a request reached an unverified origin";
    }
};

TEST_F(MitmOriginVerificationTest, ExpiredOriginCertificate) {
    TlsOrigin origin(pki().expired());
    expect_bad_gateway(origin, "origin certificate expired");
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_FALSE(origin.handshakes().front().ok);
}

TEST_F(MitmOriginVerificationTest, OriginCertificateForAnotherName) {
    TlsOrigin origin(pki().wrong_name());
    expect_bad_gateway(origin, "origin certificate is for another name");
}

TEST_F(MitmOriginVerificationTest, OriginCertificateFromAnUntrustedCa) {
    auto config = mitm_config();
    config.upstream_ca_file.clear();  // the system store knows nothing of the test CA
    start_proxy(config);
    TlsOrigin origin(pki().localhost());
    expect_bad_gateway(origin, "origin certificate not trusted");
}

TEST_F(MitmOriginVerificationTest, TheSameOriginPassesOnceItsCaIsConfigured) {
    TlsOrigin origin(pki().localhost());  // the control for the case above
    HttpsTransfer get(proxy_ca_file());
    get_from(origin, get);
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(100));
}

TEST_F(MitmOriginVerificationTest, InsecureUpstreamAcceptsWhatVerificationRefuses) {
    auto config = mitm_config();
    config.upstream_ca_file.clear();
    config.upstream_insecure = true;
    start_proxy(config);
    const auto ca_file = proxy_ca_file();
    TlsOrigin expired(pki().expired());
    TlsOrigin wrong_name(pki().wrong_name());
    for (TlsOrigin* origin : {&expired, &wrong_name}) {
        HttpsTransfer get(ca_file);
        get_from(*origin, get);
        EXPECT_EQ(get.response_code(), 200) << get.body_text();
        EXPECT_EQ(get.body().bytes, 100u);
        EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(100));
        EXPECT_EQ(origin->routes().requests(), 1u);
    }
}

}  // namespace
}  // namespace mproxy::test
