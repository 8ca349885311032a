// A request or CONNECT aimed at the proxy's own listener gets 508 instead of a loop.

#include <gtest/gtest.h>

#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

using LoopDetectionTest = ProxyFixture;

TEST_F(LoopDetectionTest, RequestToTheProxyItselfGets508) {
    auto client = raw_client();
    client.send(absolute_get(proxy_authority(), "/"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 508);
    EXPECT_EQ(proxy().connections().opened_total(), 1u) << "the proxy connected to itself";
}

TEST_F(LoopDetectionTest, ConnectToTheProxyItselfGets508) {
    RawResponse reply;
    auto client = open_connect(proxy_authority(), reply);
    EXPECT_EQ(reply.status, 508);
    EXPECT_EQ(proxy().connections().opened_total(), 1u) << "the proxy connected to itself";
}

TEST_F(LoopDetectionTest, RequestToTheProxyByNameGets508) {
    auto client = raw_client();
    client.send(absolute_get("localhost:" + std::to_string(proxy_port()), "/"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 508);
    EXPECT_EQ(proxy().connections().opened_total(), 1u) << "the proxy connected to itself";
}

TEST_F(LoopDetectionTest, OtherPortsOnTheSameHostAreFine) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/not-a-loop"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
}

}  // namespace
}  // namespace mproxy::test
