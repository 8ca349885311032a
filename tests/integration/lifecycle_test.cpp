// Starting, stopping and timing out: the proxy as a component that mproxyd and the tests run.

#include <gtest/gtest.h>

#include <system_error>

#include "tests/support/blocking_socket.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

using LifecycleTest = ProxyFixture;

TEST_F(LifecycleTest, StartThrowsWhenThePortIsTaken) {
    LoopbackListener taken;
    auto c = default_config();
    c.listen_port = taken.port();
    proxy::ProxyServer second(c);
    EXPECT_THROW(second.start(), std::system_error);
}

TEST_F(LifecycleTest, EndpointIsTheBoundEphemeralPort) {
    EXPECT_NE(proxy_port(), 0);
    EXPECT_TRUE(proxy().endpoint().address().is_loopback());
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/bound"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "bound");
}

TEST_F(LifecycleTest, StopClosesLiveConnections) {
    RawResponse established;
    auto tunnel = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    auto idle = raw_client();
    idle.send(absolute_get(origin.authority(), "/say/x"));
    ASSERT_TRUE(idle.read_response().response);
    proxy().stop();
    EXPECT_NE(tunnel.wait_closed(), ReadStatus::timeout);
    EXPECT_NE(idle.wait_closed(), ReadStatus::timeout);
    EXPECT_EQ(proxy().connections().live(), 0u);
    proxy().stop();  // idempotent
}

TEST_F(LifecycleTest, ClosedConnectionsLeaveTheRegistry) {
    {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/say/x"));
        ASSERT_TRUE(client.read_response().response);
        ASSERT_TRUE(wait_for_connection([](const auto& c) { return c.exchanges == 1; }));
    }
    EXPECT_TRUE(wait_for_no_connections());
    EXPECT_EQ(proxy().connections().opened_total(), 1u);
}

TEST_F(LifecycleTest, IncompleteRequestHeadIsCutOffAtTheHeaderTimeout) {
    auto c = default_config();
    c.header_timeout = std::chrono::milliseconds(200);
    start_proxy(c);
    auto client = raw_client();
    client.send("GET http://" + origin.authority() +
                "/say/x HTTP/1.1\r\nHost: ");  // and nothing more
    std::string answer;
    const auto end = client.wait_closed(&answer);
    EXPECT_TRUE(end == ReadStatus::eof || end == ReadStatus::reset)
        << "still open: " << to_string(end);
    EXPECT_EQ(origin.requests(), 0u);
}

}  // namespace
}  // namespace mproxy::test
