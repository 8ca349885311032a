// Hop-by-hop headers stay on their hop; end-to-end ones pass; the proxy announces itself in Via.

#include <gtest/gtest.h>

#include "tests/support/proxy_fixture.hpp"
#include "tests/support/raw_response_parser.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {
namespace {

using HopByHopTest = ProxyFixture;

// Field names in a head as the origin printed it (one "Name: value" per line).
bool head_has_field(const std::string& head, std::string_view name) {
    std::size_t start = head.find("\r\n");
    while (start != std::string::npos && start + 2 < head.size()) {
        const auto end = head.find("\r\n", start + 2);
        const auto line = std::string_view(head).substr(start + 2, end - start - 2);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) return true;
        start = end;
    }
    return false;
}

TEST_F(HopByHopTest, RequestHopByHopHeadersAreRemoved) {
    auto client = raw_client();
    const auto a = origin.authority();
    client.send("GET http://" + a + "/echo-head HTTP/1.1\r\nHost: " + a +
                "\r\nConnection: keep-alive, X-Hop-Secret\r\nX-Hop-Secret: 1\r\nProxy-Connection: "
                "keep-alive"
                "\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                "Proxy-Authorization: Basic dXNlcjpwYXNz\r\nX-End-To-End: kept\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    ASSERT_EQ(reply.response->status, 200);
    const auto& head = reply.response->body;
    for (const char* name :
         {"X-Hop-Secret", "Proxy-Connection", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization"})
        EXPECT_FALSE(head_has_field(head, name)) << name << " reached the origin:\n" << head;
    if (head_has_field(head, "Connection")) {
        EXPECT_EQ(head.find("X-Hop-Secret"), std::string::npos) << head;
    }
    EXPECT_TRUE(head_has_field(head, "X-End-To-End")) << head;
    EXPECT_NE(head.find("X-End-To-End: kept"), std::string::npos) << head;
    EXPECT_NE(head.find("Via: 1.1 mproxy"), std::string::npos) << head;
    EXPECT_EQ(head.rfind("GET /echo-head HTTP/1.1\r\n", 0), 0u) << "not origin-form: " << head;
}

// A response with its own hop-by-hop headers (what the scripted origin sends, byte for byte).
class ResponseHeadersTest : public ProxyFixture {
  protected:
    ScriptedOrigin scripted{[](BlockingSocket& connection, std::size_t) {
        std::string rest;
        read_request_head(connection, rest);
        connection.send_all(
            "HTTP/1.1 200 OK\r\nConnection: X-Resp-Hop\r\nX-Resp-Hop: secret\r\nKeep-Alive: "
            "timeout=9\r\n"
            "Proxy-Connection: keep-alive\r\nX-Resp-End: kept\r\nContent-Length: 2\r\n\r\nok");
        connection.read_until_closed(rest);
    }};

    RawResponse fetch() {
        auto client = raw_client();
        client.send(absolute_get(scripted.authority(), "/"));
        auto reply = client.read_response();
        EXPECT_TRUE(reply.response) << reply.error;
        return reply.response.value_or(RawResponse{});
    }
};

TEST_F(ResponseHeadersTest, ResponseHopByHopHeadersAreRemoved) {
    const auto response = fetch();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "ok");
    EXPECT_FALSE(response.header("X-Resp-Hop")) << response.wire;
    EXPECT_FALSE(response.header("Keep-Alive")) << response.wire;
    EXPECT_FALSE(response.header("Proxy-Connection")) << response.wire;
    if (auto connection = response.header("Connection")) {
        EXPECT_EQ(connection->find("X-Resp-Hop"), std::string::npos);
    }
    EXPECT_EQ(response.header("X-Resp-End"), "kept");
}

TEST_F(ResponseHeadersTest, ResponseCarriesVia) {
    const auto response = fetch();
    EXPECT_EQ(response.header("Via"), "1.1 mproxy") << response.wire;
}

}  // namespace
}  // namespace mproxy::test
