// Big bodies both ways, through the plain proxy and through HTTP inside CONNECT: every byte checked
// end to end, the upload produced by a read callback (never held in memory).

#include <gtest/gtest.h>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class LargeTransferTest : public ProxyFixture, public ::testing::WithParamInterface<ClientRoute> {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

TEST_P(LargeTransferTest, Download10MiB) {
    constexpr std::uint64_t size = 10 * 1024 * 1024;
    CurlTransfer get;
    get.url(origin.url("/bytes/" + std::to_string(size)));
    route(get, GetParam());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    EXPECT_EQ(get.body().bytes, size);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
}

TEST_P(LargeTransferTest, ChunkedDownload10MiB) {
    constexpr std::uint64_t size = 10 * 1024 * 1024 + 1;
    CurlTransfer get;
    get.url(origin.url("/chunked/" + std::to_string(size)));
    route(get, GetParam());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().bytes, size);
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
    ASSERT_EQ(get.trailer_lines().size(), 1u);
    EXPECT_EQ(get.trailer_lines()[0], "X-Body-Hash: " + payload_hash_hex(size));
}

TEST_P(LargeTransferTest, StreamedUpload100MiB) {
    constexpr std::uint64_t size = 100 * 1024 * 1024;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, GetParam());
    post.upload(size, UploadFraming::content_length);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.uploaded(), size);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
}

TEST_P(LargeTransferTest, StreamedChunkedUpload20MiB) {
    constexpr std::uint64_t size = 20 * 1024 * 1024 + 9;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, GetParam());
    post.upload(size, UploadFraming::chunked);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
}

INSTANTIATE_TEST_SUITE_P(Routes, LargeTransferTest,
                         ::testing::Values(ClientRoute::absolute_form, ClientRoute::http_connect),
                         route_name);

}  // namespace
}  // namespace mproxy::test
