// The plain forward proxy: absolute-form requests of every method and body framing, relayed intact.

#include <gtest/gtest.h>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

using PlainProxyTest = ProxyFixture;

TEST_F(PlainProxyTest, GetRelaysStatusHeadersAndBody) {
    CurlTransfer get;
    get.url(origin.url("/bytes/12345"));
    get.via_proxy(proxy_port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.response_header("Content-Length"), "12345");
    EXPECT_EQ(get.response_header("Content-Type"), "application/octet-stream");
    EXPECT_EQ(get.body().bytes, 12345u);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(12345));
    EXPECT_EQ(origin.requests(), 1u);
}

TEST_F(PlainProxyTest, HeadGetsHeadersAndNoBody) {
    CurlTransfer head;
    head.url(origin.url("/bytes/5000"));
    head.via_proxy(proxy_port());
    head.head_request();
    ASSERT_EQ(head.perform(), CURLE_OK) << head.error_text();
    EXPECT_EQ(head.response_code(), 200);
    EXPECT_EQ(head.response_header("Content-Length"), "5000");
    EXPECT_EQ(head.body().bytes, 0u);
}

// A body-less response must not make the proxy wait for a body: the next response on the same
// connection arrives and is framed right.
TEST_F(PlainProxyTest, BodylessResponsesKeepTheConnectionInStep) {
    auto client = raw_client();
    const auto a = origin.authority();
    client.send("HEAD http://" + a + "/bytes/5000 HTTP/1.1\r\nHost: " + a + "\r\n\r\n");
    auto head = client.read_response(/*head_request=*/true);
    ASSERT_TRUE(head.response) << head.error;
    EXPECT_EQ(head.response->status, 200);
    EXPECT_EQ(head.response->header("Content-Length"), "5000");

    for (const char* path : {"/status/204", "/status/304"}) {
        client.send(absolute_get(a, path));
        auto bodyless = client.read_response();
        ASSERT_TRUE(bodyless.response) << path << ": " << bodyless.error;
        EXPECT_EQ(bodyless.response->status, std::stoi(std::string(path).substr(8))) << path;
        EXPECT_TRUE(bodyless.response->body.empty()) << path;
    }
    client.send(absolute_get(a, "/say/after-bodyless"));
    auto after = client.read_response();
    ASSERT_TRUE(after.response) << after.error;
    EXPECT_EQ(after.response->status, 200);
    EXPECT_EQ(after.response->body, "after-bodyless");
    EXPECT_EQ(client.buffered(), "") << "bytes the proxy sent beyond the responses";
}

TEST_F(PlainProxyTest, PostWithContentLength) {
    constexpr std::uint64_t size = 3 * 1024 * 1024 + 17;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    post.via_proxy(proxy_port());
    post.upload(size, UploadFraming::content_length);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
}

TEST_F(PlainProxyTest, PutWithChunkedBody) {
    constexpr std::uint64_t size = 2 * 1024 * 1024 + 3;
    CurlTransfer put;
    put.url(origin.url("/upload"));
    put.via_proxy(proxy_port());
    put.upload(size, UploadFraming::chunked, "PUT");
    ASSERT_EQ(put.perform(), CURLE_OK) << put.error_text();
    EXPECT_EQ(put.response_code(), 200);
    EXPECT_EQ(put.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(put.response_header("X-Body-Hash"), payload_hash_hex(size));
}

TEST_F(PlainProxyTest, RequestTrailersReachTheOrigin) {
    auto client = raw_client();
    const auto a = origin.authority();
    client.send("POST http://" + a + "/upload HTTP/1.1\r\nHost: " + a +
                "\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer-Check\r\n\r\n"
                "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer-Check: sealed\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
    EXPECT_EQ(reply.response->header("X-Received-Bytes"), "11");
    EXPECT_EQ(reply.response->header("X-Echo-X-Trailer-Check"), "sealed");
}

TEST_F(PlainProxyTest, ChunkedResponseWithTrailers) {
    constexpr std::uint64_t size = 700 * 1024 + 5;
    CurlTransfer get;
    get.url(origin.url("/chunked/" + std::to_string(size)));
    get.via_proxy(proxy_port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().bytes, size);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
    ASSERT_EQ(get.trailer_lines().size(), 1u);
    EXPECT_EQ(get.trailer_lines()[0], "X-Body-Hash: " + payload_hash_hex(size));
}

TEST_F(PlainProxyTest, ChunkedResponseTrailerOnTheWire) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/chunked/100"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(reply.response->body.size(), 100u);
    EXPECT_EQ(reply.response->trailer("X-Body-Hash"), payload_hash_hex(100));
}

TEST_F(PlainProxyTest, CloseDelimitedResponseArrivesWhole) {
    constexpr std::uint64_t size = 1024 * 1024 + 1;
    CurlTransfer get;
    get.url(origin.url("/close-delimited/" + std::to_string(size)));
    get.via_proxy(proxy_port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, size);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
}

TEST_F(PlainProxyTest, OriginFormRequestIsRefusedWithAnExplanation) {
    auto client = raw_client();
    client.send("GET /bytes/10 HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 400);
    std::string body = reply.response->body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    EXPECT_FALSE(body.empty());
    EXPECT_EQ(body.find('\n'), std::string::npos) << "not one line: " << body;
    EXPECT_EQ(origin.requests(), 0u);
}

}  // namespace
}  // namespace mproxy::test
