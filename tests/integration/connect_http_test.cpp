// CONNECT with the http action: 200, then the tunnel's content is read as HTTP/1.1 exchanges with
// the CONNECT authority, by the same engine as the plain proxy.

#include <gtest/gtest.h>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {
namespace {

class ConnectHttpTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

TEST_F(ConnectHttpTest, SeveralExchangesInOneTunnelOverOneUpstreamConnection) {
    CurlTransfer get;
    get.via_proxy(proxy_port(), /*tunnel=*/true);
    long connects = 0;
    for (int i = 0; i < 10; ++i) {
        get.url(origin.url("/say/inside-" + std::to_string(i)));
        ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
        EXPECT_EQ(get.body_text(), "inside-" + std::to_string(i));
        connects += get.connects_made();
    }
    EXPECT_EQ(connects, 1);
    EXPECT_EQ(origin.accepted_connections(), 1u);
    auto connection = wait_for_connection([](const auto& c) { return c.exchanges >= 10; });
    ASSERT_TRUE(connection);
    EXPECT_EQ(connection->mode, proxy::ConnectionMode::http) << describe(*connection);
    EXPECT_EQ(connection->target, origin.authority()) << describe(*connection);
}

TEST_F(ConnectHttpTest, RequestsInsideAreRewrittenLikePlainOnes) {
    RawResponse established;
    auto client = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    client.send("GET /echo-head HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-End: 2\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    const auto& head = reply.response->body;
    EXPECT_EQ(head.rfind("GET /echo-head HTTP/1.1\r\n", 0), 0u) << head;
    EXPECT_EQ(head.find("X-Hop:"), std::string::npos) << head;
    EXPECT_NE(head.find("X-End: 2"), std::string::npos) << head;
    EXPECT_NE(head.find("Via: 1.1 mproxy"), std::string::npos) << head;
}

TEST_F(ConnectHttpTest, PipelinedRequestsInsideAreAnsweredInOrder) {
    RawResponse established;
    auto client = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    const auto host = "\r\nHost: " + origin.authority() + "\r\n\r\n";
    client.send("GET /say/one HTTP/1.1" + host + "GET /say/two HTTP/1.1" + host +
                "GET /say/three HTTP/1.1" + host);
    for (const char* expected : {"one", "two", "three"}) {
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << expected << ": " << reply.error;
        EXPECT_EQ(reply.response->body, expected);
    }
}

TEST_F(ConnectHttpTest, ChunkedBodiesBothWaysInside) {
    CurlTransfer post;
    post.url(origin.url("/upload"));
    post.via_proxy(proxy_port(), /*tunnel=*/true);
    post.upload(1024 * 1024 + 7, UploadFraming::chunked);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(1024 * 1024 + 7));

    CurlTransfer get;
    get.url(origin.url("/chunked/300001"));
    get.via_proxy(proxy_port(), /*tunnel=*/true);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(300001));
    ASSERT_EQ(get.trailer_lines().size(), 1u);
}

// The authority of the CONNECT decides where requests go, whatever their Host says.
TEST_F(ConnectHttpTest, RequestsGoToTheConnectAuthority) {
    RawResponse established;
    auto client = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    client.send("GET /say/here HTTP/1.1\r\nHost: elsewhere.invalid\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
    EXPECT_EQ(reply.response->body, "here");
}

TEST_F(ConnectHttpTest, OriginDyingMidBodyInsideClosesTheTunnel) {
    CurlTransfer get;
    get.url(origin.url("/die-mid-body/200000"));
    get.via_proxy(proxy_port(), /*tunnel=*/true);
    const auto code = get.perform();
    EXPECT_NE(code, CURLE_OK) << "a truncated body looked complete";
    EXPECT_LT(get.body().bytes, 200000u);
}

}  // namespace
}  // namespace mproxy::test
