// Every 1xx the origin sends (102, 103 with its headers) reaches the client the moment it arrives,
// not held back until the final response.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class InterimResponsesTest : public ProxyFixture,
                             public ::testing::WithParamInterface<ClientRoute> {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

// The origin sends 102 and 103, then holds the 200 until the client has the 103 in hand.
TEST_P(InterimResponsesTest, EarlyHintsReachTheClientBeforeTheFinalResponse) {
    CurlTransfer get;
    get.url(origin.url("/early-hints"));
    route(get, GetParam());
    get.on_status([this](int status) {
        if (status == 103) origin.open_gate("early-hints");
    });
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.statuses(), (std::vector<int>{102, 103, 200}));
    EXPECT_EQ(get.body_text(), "final\n");
    const auto events = origin.events();
    EXPECT_EQ(std::find(events.begin(), events.end(), "gate-timeout early-hints"), events.end())
        << "the 103 reached the client only after the origin gave up waiting";

    // The Link header belongs to the 103: between its status line and the 200's.
    const long hint = get.first_event(TransferEvent::Kind::status_line, 103);
    const long final_status = get.first_event(TransferEvent::Kind::status_line, 200);
    bool link_in_103 = false;
    for (long i = hint + 1; i < final_status; ++i)
        link_in_103 |= get.events()[static_cast<std::size_t>(i)].text ==
                       "Link: </style.css>; rel=preload; as=style";
    EXPECT_TRUE(link_in_103);
}

using InterimOnTheWireTest = ProxyFixture;

TEST_F(InterimOnTheWireTest, EachInterimResponseIsRelayedAsItArrives) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/early-hints"));
    auto processing = client.read_response();
    ASSERT_TRUE(processing.response) << processing.error;
    EXPECT_EQ(processing.response->status, 102);
    auto hints = client.read_response();
    ASSERT_TRUE(hints.response) << hints.error;
    EXPECT_EQ(hints.response->status, 103);
    EXPECT_EQ(hints.response->header("Link"), "</style.css>; rel=preload; as=style");
    EXPECT_EQ(client.buffered(), "") << "bytes after the 103 before the origin sent any";
    origin.open_gate("early-hints");
    auto final_response = client.read_response();
    ASSERT_TRUE(final_response.response) << final_response.error;
    EXPECT_EQ(final_response.response->status, 200);
    EXPECT_EQ(final_response.response->body, "final\n");
}

INSTANTIATE_TEST_SUITE_P(Routes, InterimResponsesTest,
                         ::testing::Values(ClientRoute::absolute_form, ClientRoute::http_connect),
                         route_name);

}  // namespace
}  // namespace mproxy::test
