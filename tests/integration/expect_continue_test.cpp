// Full duplex on uploads: the origin's 100 Continue reaches the client before it sends the body,
// and a final answer that comes early (413) reaches it while it is still uploading. Through the
// plain proxy and through HTTP inside CONNECT (the mode where the original bug lived).

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class ExpectContinueTest : public ProxyFixture, public ::testing::WithParamInterface<ClientRoute> {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

long index_of(const std::vector<std::string>& events, const std::string& event) {
    const auto it = std::find(events.begin(), events.end(), event);
    return it == events.end() ? -1 : static_cast<long>(it - events.begin());
}

bool logged(const TestOrigin& origin, const std::string& event) {
    return index_of(origin.events(), event) >= 0;
}

std::string joined(const std::vector<std::string>& events) {
    std::string out;
    for (const auto& e : events) out += "[" + e + "] ";
    return out;
}

TEST_P(ExpectContinueTest, HundredContinueArrivesBeforeTheBodyIsSent) {
    constexpr std::uint64_t size = 4 * 1024 * 1024;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, GetParam());
    post.upload(size, UploadFraming::content_length);
    post.expect_continue(true);  // curl waits up to 30 s for the 100 before sending anyway
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));

    // Client side: the 100 came through, before the read callback was first asked for body bytes.
    const long hundred = post.first_event(TransferEvent::Kind::status_line, 100);
    const long first_read = post.first_event(TransferEvent::Kind::read);
    ASSERT_GE(hundred, 0) << "the client never saw 100 Continue";
    ASSERT_GE(first_read, 0);
    EXPECT_LT(hundred, first_read) << "the body was read before the 100 arrived";
    EXPECT_EQ(post.statuses(), (std::vector<int>{100, 200}));

    // Origin side: it sent its 100 before any body byte arrived (nobody answered in its place).
    const auto events = origin.events();
    const long sent = index_of(events, "100-sent /upload");
    const long first_byte = index_of(events, "first-body-byte /upload");
    ASSERT_GE(sent, 0) << joined(events);
    ASSERT_GE(first_byte, 0) << joined(events);
    EXPECT_LT(sent, first_byte) << joined(events);
}

TEST_P(ExpectContinueTest, FinalAnswerInsteadOfContinueMeansNoBodyIsSent) {
    CurlTransfer post;
    post.url(origin.url("/reject-413"));
    route(post, GetParam());
    post.upload(8 * 1024 * 1024, UploadFraming::content_length);
    post.expect_continue(true);
    post.on_status([this](int status) {
        if (status == 413) origin.open_gate("413");
    });
    const auto code = post.perform();
    origin.open_gate("413");
    EXPECT_FALSE(logged(origin, "gate-timeout 413")) << "the 413 was held back";
    EXPECT_EQ(code, CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 413);
    EXPECT_EQ(post.first_event(TransferEvent::Kind::status_line, 100), -1);
    EXPECT_EQ(post.uploaded(), 0u) << "curl sent body bytes: it waited out the 30 s for a 100";
}

TEST_P(ExpectContinueTest, EarlyFinalResponseArrivesWhileStillUploading) {
    constexpr std::uint64_t size = 100 * 1024 * 1024;
    CurlTransfer post;
    post.url(origin.url("/reject-413"));
    route(post, GetParam());
    post.upload(size, UploadFraming::content_length);  // no Expect: the body starts at once
    // The origin neither reads the body nor closes until the client has its 413 (or 30 s pass):
    // a proxy that must finish the upload before reading the answer can only deliver it late,
    // once the origin gives up, and that is logged as "gate-timeout 413".
    post.on_status([this](int status) {
        if (status == 413) origin.open_gate("413");
    });
    const auto code = post.perform();
    origin.open_gate("413");
    ASSERT_TRUE(origin.wait_for_event("413-sent"));
    const long status = post.first_event(TransferEvent::Kind::status_line, 413);
    ASSERT_GE(status, 0) << "the client never saw the 413 (curl: " << code << " "
                         << post.error_text() << ")";
    EXPECT_FALSE(logged(origin, "gate-timeout 413"))
        << "the 413 reached the client only after the origin gave up waiting";
    const auto supplied = post.events()[static_cast<std::size_t>(status)].supplied;
    // Only socket buffers' worth of body can have gone out before the 413 came back.
    EXPECT_LT(supplied, size / 4) << "the 413 arrived only after " << supplied
                                  << " bytes were uploaded";
    EXPECT_EQ(post.response_code(), 413);
}

TEST_P(ExpectContinueTest, ConnectionWorksAgainAfterAnEarlyResponse) {
    {
        CurlTransfer post;
        post.url(origin.url("/reject-413"));
        route(post, GetParam());
        post.upload(16 * 1024 * 1024, UploadFraming::content_length);
        post.perform();
        origin.open_gate("413");
        EXPECT_EQ(post.response_code(), 413);
    }
    CurlTransfer get;
    get.url(origin.url("/say/still-fine"));
    route(get, GetParam());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body_text(), "still-fine");
}

INSTANTIATE_TEST_SUITE_P(Routes, ExpectContinueTest,
                         ::testing::Values(ClientRoute::absolute_form, ClientRoute::http_connect),
                         route_name);

}  // namespace
}  // namespace mproxy::test
