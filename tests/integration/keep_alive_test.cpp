// Connections kept alive on both sides: one client connection carries many exchanges over one
// pooled upstream connection, pipelined requests are answered in order, and an upstream connection
// left mid-exchange is never handed to the next request.

#include <gtest/gtest.h>

#include <atomic>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/one_shot_event.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {
namespace {

using KeepAliveTest = ProxyFixture;

TEST_F(KeepAliveTest, HundredSequentialRequestsShareOneUpstreamConnection) {
    CurlTransfer get;
    get.via_proxy(proxy_port());
    long connects = 0;
    for (int i = 0; i < 100; ++i) {
        get.url(origin.url("/say/request-" + std::to_string(i)));
        ASSERT_EQ(get.perform(), CURLE_OK) << "request " << i << ": " << get.error_text();
        ASSERT_EQ(get.body_text(), "request-" + std::to_string(i));
        connects += get.connects_made();
    }
    EXPECT_EQ(connects, 1) << "curl had to reconnect to the proxy";
    EXPECT_EQ(proxy().connections().opened_total(), 1u);
    EXPECT_EQ(origin.accepted_connections(), 1u);
    EXPECT_EQ(origin.requests(), 100u);
    auto live = wait_for_connection([](const auto& c) { return c.exchanges == 100; });
    EXPECT_TRUE(live) << "exchanges never reached 100";
}

TEST_F(KeepAliveTest, PooledUpstreamServesTheNextClientConnection) {
    for (int i = 0; i < 3; ++i) {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/say/client-" + std::to_string(i)));
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        EXPECT_EQ(reply.response->body, "client-" + std::to_string(i));
    }
    EXPECT_EQ(origin.accepted_connections(), 1u);
}

TEST_F(KeepAliveTest, PipelinedRequestsAreAnsweredInOrder) {
    auto client = raw_client();
    const auto a = origin.authority();
    client.send(absolute_get(a, "/say/first") + absolute_get(a, "/bytes/70000") +
                absolute_get(a, "/say/third"));
    auto first = client.read_response();
    auto second = client.read_response();
    auto third = client.read_response();
    ASSERT_TRUE(first.response) << first.error;
    ASSERT_TRUE(second.response) << second.error;
    ASSERT_TRUE(third.response) << third.error;
    EXPECT_EQ(first.response->body, "first");
    EXPECT_EQ(second.response->body.size(), 70000u);
    EXPECT_EQ(third.response->body, "third");
}

TEST_F(KeepAliveTest, PipelinedRequestsWithBodiesAreAnsweredInOrder) {
    auto client = raw_client();
    const auto a = origin.authority();
    const std::string post = "POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a +
                             "\r\nContent-Length: 5\r\n\r\nabcde";
    const std::string chunked = "POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a +
                                "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n";
    client.send(post + chunked + absolute_get(a, "/say/last"));
    auto first = client.read_response();
    auto second = client.read_response();
    auto third = client.read_response();
    ASSERT_TRUE(first.response && second.response && third.response)
        << first.error << " / " << second.error << " / " << third.error;
    EXPECT_EQ(first.response->header("X-Received-Bytes"), "5");
    EXPECT_EQ(second.response->header("X-Received-Bytes"), "3");
    EXPECT_EQ(third.response->body, "last");
}

// The origin answers before reading the request body and keeps its connection open: the proxy
// must not put that connection back in the pool, since the rest of the body is still owed.
TEST_F(KeepAliveTest, UpstreamWithAnUnfinishedRequestIsNotReused) {
    OneShotEvent first_answered;
    ScriptedOrigin scripted([&](BlockingSocket& connection, std::size_t index) {
        std::string rest;
        const auto head = read_request_head(connection, rest);
        if (index == 0) {
            connection.send_all("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
            first_answered.set();
            std::string drained;
            connection.read_until_closed(drained);
            if (drained.find("GET ") != std::string::npos || rest.find("GET ") != std::string::npos)
                throw std::runtime_error(
                    "a new request came on the connection with an unfinished body");
            return;
        }
        connection.send_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
        connection.read_until_closed(rest);
    });
    const auto a = scripted.authority();
    {
        auto client = raw_client();
        client.send("POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a +
                    "\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'x'));
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        EXPECT_EQ(reply.response->status, 403);
    }  // the client gives up on the rest of its body
    auto client = raw_client();
    client.send(absolute_get(a, "/next"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "fresh");
    EXPECT_EQ(scripted.accepted(), 2u);
    EXPECT_TRUE(scripted.failures().empty()) << scripted.failures().front();
}

// The client leaves in the middle of a large download: what is left of that response must not
// be read by the next request as its own.
TEST_F(KeepAliveTest, UpstreamWithAnUnreadResponseIsNotReused) {
    {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/bytes/" + std::to_string(64 * 1024 * 1024)));
        std::string some;
        ASSERT_TRUE(client.socket().read_exactly(some, 100000));
    }
    ASSERT_TRUE(wait_for_no_connections());
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/clean"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
    EXPECT_EQ(reply.response->body, "clean");
    EXPECT_EQ(origin.accepted_connections(), 2u);
}

}  // namespace
}  // namespace mproxy::test
