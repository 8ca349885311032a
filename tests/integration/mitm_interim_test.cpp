// Interim responses and early final answers inside intercepted TLS: the exchange engine relays
// them as they arrive, exactly as it does for plain HTTP. The origin holds its next step until
// the client has the interim response in hand (a gate), so a proxy that buffered it would only
// deliver it after the gate timed out, and that is logged.

#include <gtest/gtest.h>

#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

class MitmInterimTest : public MitmFixture {
  protected:
    void SetUp() override {
        MitmFixture::SetUp();
        ca_file = proxy_ca_file();
    }
    TlsOrigin tls_origin{pki().localhost()};
    std::string ca_file;  // the proxy's CA, the only one the client trusts
};

TEST_F(MitmInterimTest, HundredContinueArrivesBeforeTheBodyIsSent) {
    constexpr std::uint64_t size = 4 * 1024 * 1024;
    HttpsTransfer post(ca_file);
    prepare(post, tls_origin.url("/upload"));
    post.upload(size, UploadFraming::content_length);
    post.expect_continue(true);
    // Without a 100 within 30 s curl sends the body anyway; the order below then fails.
    curl_easy_setopt(post.handle(), CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
    EXPECT_EQ(post.statuses(), (std::vector<int>{100, 200}));

    const long hundred = post.first_event(TransferEvent::Kind::status_line, 100);
    const long first_read = post.first_event(TransferEvent::Kind::read);
    ASSERT_GE(hundred, 0) << "the client never saw 100 Continue";
    ASSERT_GE(first_read, 0);
    EXPECT_LT(hundred, first_read) << "the body was read before the 100 arrived";

    const auto events = tls_origin.events();
    const long sent = event_index(events, "100-sent /upload");
    const long first_byte = event_index(events, "first-body-byte /upload");
    ASSERT_GE(sent, 0) << event_list(events);
    ASSERT_GE(first_byte, 0) << event_list(events);
    EXPECT_LT(sent, first_byte) << event_list(events);
}

TEST_F(MitmInterimTest, FinalAnswerInsteadOfContinueMeansNoBodyIsSent) {
    HttpsTransfer post(ca_file);
    prepare(post, tls_origin.url("/reject-413"));
    post.upload(8 * 1024 * 1024, UploadFraming::content_length);
    post.expect_continue(true);
    curl_easy_setopt(post.handle(), CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    post.on_status([this](int status) {
        if (status == 413) tls_origin.open_gate("413");
    });
    const auto code = post.perform();
    tls_origin.open_gate("413");
    EXPECT_EQ(event_index(tls_origin.events(), "gate-timeout 413"), -1) << "the 413 was held back";
    EXPECT_EQ(code, CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 413);
    EXPECT_EQ(post.first_event(TransferEvent::Kind::status_line, 100), -1);
    EXPECT_EQ(post.uploaded(), 0u) << "curl sent body bytes: it waited out the 30 s for a 100";
}

TEST_F(MitmInterimTest, EarlyFinalResponseArrivesWhileStillUploading) {
    constexpr std::uint64_t size = 100 * 1024 * 1024;
    HttpsTransfer post(ca_file);
    prepare(post, tls_origin.url("/reject-413"));
    post.upload(size, UploadFraming::content_length);  // no Expect: the body starts at once
    post.on_status([this](int status) {
        if (status == 413) tls_origin.open_gate("413");
    });
    const auto code = post.perform();
    tls_origin.open_gate("413");
    const long status = post.first_event(TransferEvent::Kind::status_line, 413);
    ASSERT_GE(status, 0) << "the client never saw the 413 (curl: " << code << " "
                         << post.error_text() << ")";
    EXPECT_EQ(event_index(tls_origin.events(), "gate-timeout 413"), -1)
        << "the 413 reached the client only after the origin gave up waiting";
    const auto supplied = post.events()[static_cast<std::size_t>(status)].supplied;
    // Only buffers' worth of body (socket and TLS, both hops) can precede the 413.
    EXPECT_LT(supplied, size / 4) << "the 413 arrived only after " << supplied
                                  << " bytes were uploaded";
    EXPECT_EQ(post.response_code(), 413);
}

TEST_F(MitmInterimTest, EarlyHintsWithTheirLinkHeaderBeforeTheFinalResponse) {
    HttpsTransfer get(ca_file);
    prepare(get, tls_origin.url("/early-hints"));
    get.on_status([this](int status) {
        if (status == 103) tls_origin.open_gate("early-hints");
    });
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.statuses(), (std::vector<int>{102, 103, 200}));
    EXPECT_EQ(get.body_text(), "final\n");
    EXPECT_EQ(event_index(tls_origin.events(), "gate-timeout early-hints"), -1)
        << "the 103 reached the client only after the origin gave up waiting";

    const long hint = get.first_event(TransferEvent::Kind::status_line, 103);
    const long final_status = get.first_event(TransferEvent::Kind::status_line, 200);
    ASSERT_GE(hint, 0);
    ASSERT_GT(final_status, hint);
    bool link_in_103 = false;
    for (long i = hint + 1; i < final_status; ++i)
        link_in_103 |= get.events()[static_cast<std::size_t>(i)].text ==
                       "Link: </style.css>; rel=preload; as=style";
    EXPECT_TRUE(link_in_103) << "the 103's Link header did not reach the client with it";
}

}  // namespace
}  // namespace mproxy::test
