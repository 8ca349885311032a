// The TLS test support checked on its own, with libcurl and no proxy: the test PKI's certificates
// are trusted only with its CA, expired and wrong-name ones are refused for those reasons, and the
// TLS origin serves the plain origin's routes and records each handshake.

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <gtest/gtest.h>
#include <algorithm>

#include "tests/support/https_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tls_origin.hpp"
#include "tests/support/tls_websocket.hpp"

namespace mproxy::test {
namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

long index_of(const std::vector<std::string>& events, const std::string& event) {
    const auto it = std::find(events.begin(), events.end(), event);
    return it == events.end() ? -1 : static_cast<long>(it - events.begin());
}

class TlsOriginSelfTest : public ::testing::Test {
  protected:
    // A GET of `path` on `origin` as https://localhost:<port>, trusting `ca_file`.
    static void prepare(HttpsTransfer& get, const TlsOrigin& origin, const std::string& path) {
        get.url(origin.url(path));
        get.resolve("localhost", origin.port(), "127.0.0.1");
    }

    static TestPki& pki() {
        static TestPki shared;  // key generation is cheap, but one CA for the suite is enough
        return shared;
    }
};

TEST_F(TlsOriginSelfTest, TrustedWithTheTestCa) {
    TlsOrigin origin(pki().localhost());
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/bytes/100000");
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, 100000u);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(100000));
    EXPECT_EQ(get.verify_result(), X509_V_OK);

    const auto leaf = get.leaf_certificate();
    ASSERT_TRUE(leaf) << "no certificate captured";
    EXPECT_EQ(leaf->common_name, "localhost");
    EXPECT_EQ(leaf->dns_names, std::vector<std::string>{"localhost"});
    EXPECT_EQ(leaf->ip_addresses, std::vector<std::string>{"127.0.0.1"});
    EXPECT_EQ(leaf->issuer_common_name, pki().ca_name());
    EXPECT_EQ(leaf->key_type, "EC");
    EXPECT_TRUE(contains(leaf->subject, "CN = localhost")) << leaf->subject;
    EXPECT_TRUE(leaf->curl_fields.count("Subject")) << "curl's own fields were kept";
    EXPECT_LT(leaf->not_before, std::chrono::system_clock::now());
    EXPECT_GT(leaf->not_after, std::chrono::system_clock::now());

    ASSERT_TRUE(origin.wait_for_handshakes(1));
    const auto handshake = origin.handshakes().front();
    EXPECT_TRUE(handshake.ok) << handshake.error;
    EXPECT_EQ(handshake.server_name, "localhost");
    EXPECT_EQ(handshake.alpn, "http/1.1");
    EXPECT_NE(std::find(handshake.offered_alpn.begin(), handshake.offered_alpn.end(), "h2"),
              handshake.offered_alpn.end())
        << "curl offers h2 by default";
    EXPECT_EQ(handshake.version, "TLSv1.3");
    EXPECT_EQ(origin.routes().requests(), 1u);
}

TEST_F(TlsOriginSelfTest, ByAddressThereIsNoSni) {
    TlsOrigin origin(pki().localhost());
    HttpsTransfer get(pki().ca_file());
    get.url(origin.url("/say/hello", "127.0.0.1"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body_text(), "hello");
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_EQ(origin.handshakes().front().server_name, "");
}

TEST_F(TlsOriginSelfTest, RefusedWithoutTheTestCa) {
    TlsOrigin origin(pki().localhost());
    HttpsTransfer get;  // curl's default store
    prepare(get, origin, "/bytes/10");
    EXPECT_EQ(get.perform(), CURLE_PEER_FAILED_VERIFICATION) << get.error_text();
    EXPECT_EQ(get.verify_result(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_TRUE(contains(get.error_text(), "unable to get local issuer certificate"))
        << get.error_text();
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    const auto handshake = origin.handshakes().front();
    EXPECT_FALSE(handshake.ok);
    EXPECT_TRUE(contains(handshake.error, "unknown ca")) << handshake.error;
    EXPECT_EQ(origin.routes().requests(), 0u);
}

TEST_F(TlsOriginSelfTest, ExpiredCertificateIsRefused) {
    TlsOrigin origin(pki().expired());
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/bytes/10");
    EXPECT_EQ(get.perform(), CURLE_PEER_FAILED_VERIFICATION) << get.error_text();
    EXPECT_EQ(get.verify_result(), X509_V_ERR_CERT_HAS_EXPIRED);
    EXPECT_TRUE(contains(get.error_text(), "certificate has expired")) << get.error_text();
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_TRUE(contains(origin.handshakes().front().error, "certificate expired"))
        << origin.handshakes().front().error;
    EXPECT_EQ(origin.routes().requests(), 0u);
}

TEST_F(TlsOriginSelfTest, WrongNameIsRefused) {
    TlsOrigin origin(pki().wrong_name());
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/bytes/10");
    EXPECT_EQ(get.perform(), CURLE_PEER_FAILED_VERIFICATION) << get.error_text();
    // The chain verified; curl's own name check failed (it then reports verify result 1).
    EXPECT_NE(get.verify_result(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_NE(get.verify_result(), X509_V_ERR_CERT_HAS_EXPIRED);
    EXPECT_TRUE(contains(get.error_text(), "no alternative certificate subject name matches"))
        << get.error_text();
    const auto leaf = get.leaf_certificate();
    ASSERT_TRUE(leaf);
    EXPECT_EQ(leaf->dns_names, std::vector<std::string>{"wrong.example"});
    EXPECT_EQ(origin.routes().requests(), 0u);
}

TEST_F(TlsOriginSelfTest, ConnectToKeepsTheUrlNameForSniAndVerification) {
    const auto certificate = pki().issue({"origin.test", {"origin.test"}, {}});
    TlsOrigin origin(certificate);
    HttpsTransfer get(pki().ca_file());
    get.url("https://origin.test/say/renamed");
    get.connect_to("origin.test", 443, "127.0.0.1", origin.port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body_text(), "renamed");
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_EQ(origin.handshakes().front().server_name, "origin.test");
}

TEST_F(TlsOriginSelfTest, AlpnOnlyWhenBothSidesWantIt) {
    {
        TlsOrigin origin(pki().localhost());
        HttpsTransfer get(pki().ca_file());
        prepare(get, origin, "/say/x");
        curl_easy_setopt(get.handle(), CURLOPT_SSL_ENABLE_ALPN, 0L);
        ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
        ASSERT_TRUE(origin.wait_for_handshakes(1));
        EXPECT_TRUE(origin.handshakes().front().offered_alpn.empty());
        EXPECT_EQ(origin.handshakes().front().alpn, "");
    }
    {
        TlsOriginOptions options{pki().localhost()};
        options.alpn.clear();
        TlsOrigin origin(options);
        HttpsTransfer get(pki().ca_file());
        prepare(get, origin, "/say/x");
        get.http1_only();
        ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
        ASSERT_TRUE(origin.wait_for_handshakes(1));
        EXPECT_EQ(origin.handshakes().front().offered_alpn, std::vector<std::string>{"http/1.1"});
        EXPECT_EQ(origin.handshakes().front().alpn, "");
    }
}

TEST_F(TlsOriginSelfTest, Tls12Only) {
    TlsOriginOptions options{pki().localhost()};
    options.max_version = TLS1_2_VERSION;
    TlsOrigin origin(options);
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/say/old");
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_EQ(origin.handshakes().front().version, "TLSv1.2");
}

TEST_F(TlsOriginSelfTest, UploadWithExpectContinue) {
    constexpr std::uint64_t size = 3 * 1024 * 1024;
    TlsOrigin origin(pki().localhost());
    HttpsTransfer post(pki().ca_file());
    prepare(post, origin, "/upload");
    post.http1_only();
    post.upload(size, UploadFraming::content_length);
    post.expect_continue(true);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
    EXPECT_EQ(post.statuses(), (std::vector<int>{100, 200}));
    const auto events = origin.events();
    const long sent = index_of(events, "100-sent /upload");
    const long first_byte = index_of(events, "first-body-byte /upload");
    ASSERT_GE(sent, 0);
    ASSERT_GE(first_byte, 0);
    EXPECT_LT(sent, first_byte);
}

TEST_F(TlsOriginSelfTest, EarlyRejectionWhileUploading) {
    constexpr std::uint64_t size = 64 * 1024 * 1024;
    TlsOrigin origin(pki().localhost());
    HttpsTransfer post(pki().ca_file());
    prepare(post, origin, "/reject-413");
    post.http1_only();
    post.upload(size, UploadFraming::content_length);
    post.on_status([&origin](int status) {
        if (status == 413) origin.open_gate("413");
    });
    post.perform();
    origin.open_gate("413");
    const long status = post.first_event(TransferEvent::Kind::status_line, 413);
    ASSERT_GE(status, 0) << post.error_text();
    EXPECT_EQ(index_of(origin.events(), "gate-timeout 413"), -1);
    EXPECT_LT(post.events()[static_cast<std::size_t>(status)].supplied, size / 4);
}

TEST_F(TlsOriginSelfTest, EarlyHintsArriveBeforeTheFinalResponse) {
    TlsOrigin origin(pki().localhost());
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/early-hints");
    get.http1_only();
    get.on_status([&origin](int status) {
        if (status == 103) origin.open_gate("early-hints");
    });
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.statuses(), (std::vector<int>{102, 103, 200}));
    EXPECT_EQ(index_of(origin.events(), "gate-timeout early-hints"), -1);
}

TEST_F(TlsOriginSelfTest, WebSocketEchoOverTls) {
    TlsOrigin origin(pki().localhost());
    TlsWebSocket ws("localhost", origin.port(), pki().ca_file());
    EXPECT_EQ(ws.receive(), "welcome");
    ws.send("over tls");
    EXPECT_EQ(ws.receive(), "over tls");
    std::string binary(200 * 1024, '\0');
    fill_payload(0, std::span<char>(binary.data(), binary.size()));
    ws.send(binary, /*binary=*/true);
    bool was_binary = false;
    EXPECT_TRUE(ws.receive(&was_binary) == binary);
    EXPECT_TRUE(was_binary);
    const auto seen = parse_certificate(ws.peer_certificate_pem());
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->common_name, "localhost");
    ws.close();
    ASSERT_TRUE(origin.wait_for_handshakes(1));
    EXPECT_EQ(origin.handshakes().front().server_name, "localhost");
}

TEST_F(TlsOriginSelfTest, KeepAliveReusesTheTlsConnection) {
    TlsOrigin origin(pki().localhost());
    HttpsTransfer get(pki().ca_file());
    prepare(get, origin, "/bytes/10");
    get.http1_only();
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.connects_made(), 0);
    EXPECT_EQ(origin.accepted_connections(), 1u);
    EXPECT_EQ(origin.routes().requests(), 2u);
}

}  // namespace
}  // namespace mproxy::test
