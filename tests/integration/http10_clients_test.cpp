// HTTP/1.0 clients (RFC 9110 section 2.5, RFC 9112 section 7.1): the origin is spoken to in
// HTTP/1.1, and what it answers in chunked framing reaches the 1.0 client as the bare body,
// delimited by the close, in every mode that parses HTTP.

#include <gtest/gtest.h>

#include "tests/support/https_transfer.hpp"
#include "tests/support/parsing_mode_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

std::string origin_answer(const std::string& head) {
    const bool head_request = head.starts_with("HEAD ");
    if (head.find(" /chunked ") != std::string::npos)
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
               std::string(head_request
                               ? ""
                               : "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 12\r\n\r\n");
    if (head.find(" /not-modified ") != std::string::npos)
        return "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n";
    return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" +
           std::string(head_request ? "" : "hello");
}

class Http10ClientTest : public ParsingModeFixture {
  protected:
    RecordingScriptedOrigin scripted{origin_answer};
    std::string request(const std::string& method, const std::string& path,
                        const std::string& extra = "") {
        return method + " " + target(scripted.authority(), path) + " HTTP/1.0\r\n" + extra + "\r\n";
    }
};

TEST_P(Http10ClientTest, TheOriginIsSpokenToInHttp11WithAHost) {
    auto client = open_to(scripted.authority());
    client.send(request("GET", "/length"));  // HTTP/1.0 without Host, as 1.0 allows
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "hello");
    EXPECT_TRUE(reply.response->wire.starts_with("HTTP/1.1 200 OK\r\n")) << reply.response->wire;
    const auto heads = scripted.heads();
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_TRUE(heads[0].starts_with("GET /length HTTP/1.1\r\n")) << heads[0];
    EXPECT_NE(heads[0].find("\r\nHost: " + scripted.authority() + "\r\n"), std::string::npos)
        << heads[0];
    // No keep-alive asked for: the connection ends after the answer.
    EXPECT_EQ(client.wait_closed(), ReadStatus::eof);
}

TEST_P(Http10ClientTest, AChunkedAnswerArrivesUnchunkedAndCloseDelimited) {
    auto client = open_to(scripted.authority());
    // Even with keep-alive asked for: the length is not known, so only the close can end the body.
    client.send(request("GET", "/chunked", "Connection: keep-alive\r\n"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    const auto& response = *reply.response;
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "hello, world");
    EXPECT_TRUE(response.close_delimited) << response.wire;
    EXPECT_FALSE(response.header("Transfer-Encoding")) << response.wire;
    EXPECT_FALSE(response.header("Content-Length")) << response.wire;
    EXPECT_EQ(response.header("Connection"), "close") << response.wire;
    // Exactly the head, then the chunk data: no sizes, no extension, no trailer section.
    const auto body_start = response.wire.find("\r\n\r\n") + 4;
    EXPECT_EQ(response.wire.substr(body_start), "hello, world");
    EXPECT_EQ(response.wire.find("X-Sum: 12"), std::string::npos) << response.wire;
}

TEST_P(Http10ClientTest, KeepAliveHoldsOnlyWhenTheLengthIsKnown) {
    auto client = open_to(scripted.authority());
    for (int i = 0; i < 2; ++i) {
        client.send(request("GET", "/length", "Connection: keep-alive\r\n"));
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << i << ": " << reply.error;
        EXPECT_EQ(reply.response->body, "hello");
        EXPECT_FALSE(reply.response->close_delimited);
        EXPECT_EQ(reply.response->header("Connection"), "keep-alive") << reply.response->wire;
    }
    EXPECT_EQ(scripted.heads().size(), 2u);
}

TEST_P(Http10ClientTest, HeadAndNotModifiedCarryNoBodyAndKeepTheConnection) {
    auto client = open_to(scripted.authority());
    client.send(request("HEAD", "/chunked", "Connection: keep-alive\r\n"));
    auto head = client.read_response(/*head_request=*/true);
    ASSERT_TRUE(head.response) << head.error;
    EXPECT_EQ(head.response->status, 200);
    EXPECT_FALSE(head.response->header("Transfer-Encoding")) << head.response->wire;
    EXPECT_EQ(head.response->header("Connection"), "keep-alive") << head.response->wire;

    client.send(
        request("GET", "/not-modified", "Connection: keep-alive\r\nIf-None-Match: \"v1\"\r\n"));
    auto not_modified = client.read_response();
    ASSERT_TRUE(not_modified.response) << not_modified.error;
    EXPECT_EQ(not_modified.response->status, 304);
    EXPECT_TRUE(not_modified.response->body.empty());
    EXPECT_EQ(not_modified.response->header("ETag"), "\"v1\"");

    client.send(request("GET", "/length", "Connection: keep-alive\r\n"));
    auto after = client.read_response();
    ASSERT_TRUE(after.response) << after.error;
    EXPECT_EQ(after.response->body, "hello");
    const auto heads = scripted.heads();
    ASSERT_EQ(heads.size(), 3u);
    for (const auto& h : heads) EXPECT_NE(h.find(" HTTP/1.1\r\n"), std::string::npos) << h;
}

INSTANTIATE_TEST_SUITE_P(Modes, Http10ClientTest,
                         ::testing::Values(ParsingMode::plain, ParsingMode::http,
                                           ParsingMode::mitm),
                         parsing_mode_name);

// libcurl speaking HTTP/1.0 inside intercepted TLS, to an HTTPS origin that answers in chunks.
class Http10MitmTlsTest : public MitmFixture {
  protected:
    TlsOrigin tls_origin{pki().localhost()};
};

TEST_F(Http10MitmTlsTest, ChunkedBodyArrivesWholeAndTheOriginHearsHttp11) {
    HttpsTransfer get(proxy_ca_file());
    prepare(get, tls_origin.url("/chunked/300000"));
    curl_easy_setopt(get.handle(), CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, 300000u);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(300000));
    EXPECT_FALSE(get.response_header("Transfer-Encoding"));
    EXPECT_TRUE(get.trailer_lines().empty()) << "trailers reached an HTTP/1.0 client";

    HttpsTransfer echo(proxy_ca_file());
    prepare(echo, tls_origin.url("/echo-head"));
    curl_easy_setopt(echo.handle(), CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
    ASSERT_EQ(echo.perform(), CURLE_OK) << echo.error_text();
    EXPECT_TRUE(echo.body_text().starts_with("GET /echo-head HTTP/1.1\r\n")) << echo.body_text();
}

}  // namespace
}  // namespace mproxy::test
