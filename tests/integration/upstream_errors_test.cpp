// When the origin cannot be reached or fails: 502 (unresolvable, refusing), 504 (connect timeout),
// each with a short text body; an origin dying mid-response closes the client connection so that
// a truncated body can never look complete.

#include <gtest/gtest.h>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/unreachable_origins.hpp"

namespace mproxy::test {
namespace {

class UpstreamErrorsTest : public ProxyFixture {
  protected:
    RawResponse get(const std::string& authority) {
        auto client = raw_client();
        client.send(absolute_get(authority, "/"));
        auto reply = client.read_response();
        EXPECT_TRUE(reply.response) << reply.error;
        return reply.response.value_or(RawResponse{});
    }
};

TEST_F(UpstreamErrorsTest, UnresolvableHostGets502) {
    const auto reply = get("no-such-host.invalid");
    EXPECT_EQ(reply.status, 502) << reply.wire;
    EXPECT_FALSE(reply.body.empty());
}

TEST_F(UpstreamErrorsTest, RefusingOriginGets502) {
    RefusingPort refusing;
    const auto reply = get("127.0.0.1:" + std::to_string(refusing.port()));
    EXPECT_EQ(reply.status, 502) << reply.wire;
    EXPECT_FALSE(reply.body.empty());
}

TEST_F(UpstreamErrorsTest, ErrorBodiesNameTheirCause) {
    RefusingPort refusing;
    const auto refused = get("127.0.0.1:" + std::to_string(refusing.port()));
    const auto unresolved = get("no-such-host.invalid");
    EXPECT_NE(refused.body, unresolved.body)
        << "the same text for two different causes: " << refused.body;
    EXPECT_LT(refused.body.size(), 1024u);
}

TEST_F(UpstreamErrorsTest, ConnectTimeoutGets504) {
    auto c = default_config();
    c.connect_timeout = std::chrono::milliseconds(300);
    start_proxy(c);
    UnansweringListener unanswering;
    const auto reply = get("127.0.0.1:" + std::to_string(unanswering.port()));
    EXPECT_EQ(reply.status, 504) << reply.wire;
    EXPECT_FALSE(reply.body.empty());
}

TEST_F(UpstreamErrorsTest, ProxyStaysUsableAfterAnError) {
    RefusingPort refusing;
    auto client = raw_client();
    client.send(absolute_get("127.0.0.1:" + std::to_string(refusing.port()), "/"));
    auto failed = client.read_response();
    ASSERT_TRUE(failed.response) << failed.error;
    EXPECT_EQ(failed.response->status, 502);
    if (client.peer_closed()) client = raw_client();  // closing after an error is allowed
    client.send(absolute_get(origin.authority(), "/say/ok"));
    auto reply = client.read_response();
    if (!reply.response) {  // the proxy may have closed in the meantime: a new connection must work
        client = raw_client();
        client.send(absolute_get(origin.authority(), "/say/ok"));
        reply = client.read_response();
    }
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "ok");
}

TEST_F(UpstreamErrorsTest, OriginDyingMidBodyIsAnErrorForCurl) {
    CurlTransfer get;
    get.url(origin.url("/die-mid-body/300000"));
    get.via_proxy(proxy_port());
    const auto code = get.perform();
    EXPECT_NE(code, CURLE_OK) << "a truncated body looked complete (" << get.body().bytes
                              << " bytes)";
    EXPECT_LT(get.body().bytes, 300000u);
}

TEST_F(UpstreamErrorsTest, OriginDyingMidChunkedBodyIsAnErrorForCurl) {
    CurlTransfer get;
    get.url(origin.url("/die-mid-chunked/300000"));
    get.via_proxy(proxy_port());
    const auto code = get.perform();
    EXPECT_NE(code, CURLE_OK) << "a truncated chunked body looked complete (" << get.body().bytes
                              << " bytes)";
}

TEST_F(UpstreamErrorsTest, OriginDyingMidBodyClosesTheClientConnection) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/die-mid-body/300000"));
    auto reply = client.read_response();
    EXPECT_FALSE(reply.response) << "a complete response out of a truncated one";
    EXPECT_TRUE(client.peer_closed()) << reply.error;
}

TEST_F(UpstreamErrorsTest, OriginDyingMidChunkedBodyClosesTheClientConnection) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/die-mid-chunked/300000"));
    auto reply = client.read_response();
    EXPECT_FALSE(reply.response)
        << "a complete response out of a truncated one: the last chunk was invented";
    EXPECT_TRUE(client.peer_closed()) << reply.error;
}

}  // namespace
}  // namespace mproxy::test
