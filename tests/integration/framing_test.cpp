// Request framing the proxy must refuse rather than pass on (request smuggling), and heads too
// large to read: the status, and that the connection is closed after it.

#include <gtest/gtest.h>

#include <system_error>

#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class FramingTest : public ProxyFixture {
  protected:
    // Sends `request` on a fresh connection, expects `status`, then the proxy closing the
    // connection.
    void expect_refused_and_closed(const std::string& request, int status,
                                   bool must_not_reach_origin = true) {
        auto client = raw_client();
        client.send(request);
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        EXPECT_EQ(reply.response->status, status) << reply.response->wire;
        std::string after;
        const auto closed = client.wait_closed(&after);
        EXPECT_TRUE(closed == ReadStatus::eof || closed == ReadStatus::reset)
            << "connection still open: " << to_string(closed);
        EXPECT_EQ(after, "") << "bytes after the refusal";
        if (must_not_reach_origin) {
            EXPECT_EQ(origin.requests(), 0u) << "the request reached the origin";
        }
    }

    // For requests the proxy may refuse before reading them whole: it may close while we still
    // send.
    static void send_tolerating_close(RawHttpClient& client, const std::string& bytes) {
        try {
            client.send(bytes);
        } catch (const std::system_error&) {
        }
    }

    std::string post_head(const std::string& extra_headers) {
        const auto a = origin.authority();
        return "POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a + "\r\n" + extra_headers +
               "\r\n";
    }
};

TEST_F(FramingTest, ContentLengthWithTransferEncoding) {
    expect_refused_and_closed(
        post_head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n", 400);
}

TEST_F(FramingTest, TransferEncodingWithContentLength) {
    expect_refused_and_closed(
        post_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + "0\r\n\r\n", 400);
}

TEST_F(FramingTest, DuplicateContentLengthsThatDiffer) {
    expect_refused_and_closed(post_head("Content-Length: 5\r\nContent-Length: 6\r\n") + "abcdef",
                              400);
}

TEST_F(FramingTest, ContentLengthListThatDiffers) {
    expect_refused_and_closed(post_head("Content-Length: 5, 6\r\n") + "abcdef", 400);
}

TEST_F(FramingTest, BadChunkSize) {
    // The head is fine, so the proxy may have passed it on before meeting the bad chunk.
    expect_refused_and_closed(
        post_head("Transfer-Encoding: chunked\r\n") + "zz\r\nabc\r\n0\r\n\r\n", 400, false);
}

TEST_F(FramingTest, OverflowingChunkSize) {
    expect_refused_and_closed(
        post_head("Transfer-Encoding: chunked\r\n") + "fffffffffffffffffffff\r\nabc\r\n", 400,
        false);
}

TEST_F(FramingTest, ObsoleteLineFolding) {
    const auto a = origin.authority();
    expect_refused_and_closed("GET http://" + a + "/say/x HTTP/1.1\r\nHost: " + a +
                                  "\r\nX-Folded: first\r\n  second\r\n\r\n",
                              400);
}

TEST_F(FramingTest, HeadOverTheDefaultLimitGets431) {
    auto client = raw_client();
    send_tolerating_close(client, absolute_get(origin.authority(), "/say/x",
                                               "X-Big: " + std::string(70 * 1024, 'a') + "\r\n"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 431);
    EXPECT_EQ(origin.requests(), 0u);
}

TEST_F(FramingTest, HeadOfManySmallFieldsOverTheLimitGets431) {
    std::string fields;
    for (int i = 0; fields.size() < 70 * 1024; ++i)
        fields += "X-Field-" + std::to_string(i) + ": value\r\n";
    auto client = raw_client();
    send_tolerating_close(client, absolute_get(origin.authority(), "/say/x", fields));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 431);
}

TEST_F(FramingTest, HeadFarOverTheLimitGets431) {
    std::string fields;
    for (int i = 0; fields.size() < 300 * 1024; ++i)
        fields += "X-Field-" + std::to_string(i) + ": value\r\n";
    auto client = raw_client();
    send_tolerating_close(client, absolute_get(origin.authority(), "/say/x", fields));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 431);
    EXPECT_EQ(origin.requests(), 0u);
}

TEST_F(FramingTest, HeadJustUnderTheLimitPasses) {
    std::string fields;
    for (int i = 0; fields.size() < 60 * 1024; ++i)
        fields += "X-Field-" + std::to_string(i) + ": value\r\n";
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/fits", fields));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
    EXPECT_EQ(reply.response->body, "fits");
}

TEST_F(FramingTest, ConfiguredHeaderLimitIsHonouredBothWays) {
    auto c = default_config();
    c.max_header_bytes = 4096;
    start_proxy(c);
    {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/say/small",
                                 "X-Pad: " + std::string(3000, 'a') + "\r\n"));
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        EXPECT_EQ(reply.response->status, 200);
        EXPECT_EQ(reply.response->body, "small");
    }
    auto client = raw_client();
    send_tolerating_close(client, absolute_get(origin.authority(), "/say/big",
                                               "X-Pad: " + std::string(5000, 'a') + "\r\n"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 431);
}

// The same engine reads HTTP inside CONNECT: the same refusals apply there.
class FramingInsideConnectTest : public FramingTest {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

TEST_F(FramingInsideConnectTest, ContentLengthWithTransferEncoding) {
    RawResponse established;
    auto client = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    client.send("POST /upload HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 400);
    const auto closed = client.wait_closed();
    EXPECT_TRUE(closed == ReadStatus::eof || closed == ReadStatus::reset) << to_string(closed);
    EXPECT_EQ(origin.requests(), 0u);
}

}  // namespace
}  // namespace mproxy::test
