// Requests inside an intercepted CONNECT: the client, trusting only mproxy's CA, sees a leaf
// minted for the name it asked for, and every request goes through the proxy's exchange to the
// origin over a second, verified TLS connection (SNI and ALPN from the proxy). Bodies of every
// size stream through both TLS layers intact.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

class MitmTransferTest : public MitmFixture {
  protected:
    TlsOrigin tls_origin{pki().localhost()};
};

TEST_F(MitmTransferTest, GetShowsALeafMintedByTheProxyForTheName) {
    const auto ca_file = proxy_ca_file();
    HttpsTransfer get(ca_file);
    prepare(get, tls_origin.url("/bytes/100000"));  // curl offers h2 and http/1.1, as browsers do
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, 100000u);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(100000));
    long version = 0;
    curl_easy_getinfo(get.handle(), CURLINFO_HTTP_VERSION, &version);
    EXPECT_EQ(version, CURL_HTTP_VERSION_1_1) << "the proxy's leaf context speaks HTTP/1.1 only";

    const auto chain = get.certificates();
    ASSERT_FALSE(chain.empty()) << "no certificate captured";
    const auto& leaf = chain.front();
    EXPECT_EQ(leaf.dns_names, std::vector<std::string>{"localhost"});
    EXPECT_TRUE(leaf.ip_addresses.empty());
    EXPECT_TRUE(leaf.issuer_common_name.starts_with("mproxy CA")) << leaf.issuer;
    EXPECT_NE(leaf.issuer_common_name, pki().ca_name());
    EXPECT_NE(certificate_fingerprint(leaf.pem),
              certificate_fingerprint(pki().localhost().certificate_pem))
        << "the client saw the origin's own certificate: not intercepted";
    EXPECT_LT(leaf.not_before, std::chrono::system_clock::now());
    EXPECT_GT(leaf.not_after, std::chrono::system_clock::now());
    // The proxy sends its CA as the chain; it is the one ca_pem() hands out.
    ASSERT_GE(chain.size(), 2u);
    EXPECT_EQ(certificate_fingerprint(chain[1].pem),
              certificate_fingerprint(proxy().interception().ca_pem()));

    // Towards the origin: the client's name as SNI, HTTP/1.1 the only protocol offered.
    ASSERT_TRUE(tls_origin.wait_for_handshakes(1));
    const auto handshake = tls_origin.handshakes().front();
    EXPECT_TRUE(handshake.ok) << handshake.error;
    EXPECT_EQ(handshake.server_name, "localhost");
    EXPECT_EQ(handshake.alpn, "http/1.1");
    EXPECT_EQ(handshake.offered_alpn, std::vector<std::string>{"http/1.1"})
        << "the client's h2 offer must not reach an origin the proxy speaks HTTP/1.1 to";
    EXPECT_EQ(tls_origin.routes().requests(), 1u);
}

TEST_F(MitmTransferTest, TheRequestIsReissuedByTheProxy) {
    HttpsTransfer get(proxy_ca_file());
    prepare(get, tls_origin.url("/echo-head"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.response_code(), 200);
    const auto& head = get.body_text();
    // Origin-form, the client's Host, and the proxy's Via: the exchange engine saw the request.
    EXPECT_TRUE(head.starts_with("GET /echo-head HTTP/1.1\r\n")) << head;
    EXPECT_TRUE(contains_text(head, "\r\nHost: " + tls_origin.authority("localhost") + "\r\n"))
        << head;
    EXPECT_TRUE(contains_text(head, "\r\nVia: ")) << head;
}

TEST_F(MitmTransferTest, PostWithContentLengthAndChunked) {
    const auto ca_file = proxy_ca_file();
    for (const auto framing : {UploadFraming::content_length, UploadFraming::chunked}) {
        constexpr std::uint64_t size = 300'000;
        HttpsTransfer post(ca_file);
        prepare(post, tls_origin.url("/upload"));
        post.upload(size, framing);
        ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
        EXPECT_EQ(post.response_code(), 200);
        EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
        EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
    }
}

TEST_F(MitmTransferTest, TenMebibyteDownload) {
    constexpr std::uint64_t size = 10 * 1024 * 1024;
    HttpsTransfer get(proxy_ca_file());
    prepare(get, tls_origin.url("/bytes/" + std::to_string(size)));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, size);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
}

TEST_F(MitmTransferTest, HundredMebibyteStreamedUpload) {
    constexpr std::uint64_t size = 100 * 1024 * 1024;
    HttpsTransfer post(proxy_ca_file());
    prepare(post, tls_origin.url("/upload"));
    post.upload(size, UploadFraming::content_length);  // produced piecewise by the read callback
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.uploaded(), size);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
}

TEST_F(MitmTransferTest, KeepAliveReusesBothTlsConnections) {
    HttpsTransfer get(proxy_ca_file());
    prepare(get, tls_origin.url("/say/first"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body_text(), "first");
    prepare(get, tls_origin.url("/say/second"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body_text(), "second");
    EXPECT_EQ(get.connects_made(), 0) << "curl opened a new connection to the proxy";
    EXPECT_EQ(proxy().connections().opened_total(), 1u);
    EXPECT_EQ(tls_origin.accepted_connections(), 1u) << "the proxy's origin connection was not kept";
    EXPECT_EQ(tls_origin.handshakes().size(), 1u);
    EXPECT_EQ(tls_origin.routes().requests(), 2u);
}

}  // namespace
}  // namespace mproxy::test
