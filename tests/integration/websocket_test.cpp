// WebSocket through the proxy: the upgrade passes (absolute-form, and inside an http CONNECT), and
// after the 101 both directions are relayed as a tunnel.

#include <gtest/gtest.h>

#include "tests/support/payload.hpp"
#include "tests/support/proxied_websocket.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class WebSocketTest : public ProxyFixture, public ::testing::WithParamInterface<WebSocketRoute> {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

TEST_P(WebSocketTest, EchoBothWays) {
    ProxiedWebSocket ws(proxy_port(), origin.authority(), GetParam());
    EXPECT_EQ(ws.receive(), "welcome") << "the origin's first message did not come through";
    ws.send("hello through the proxy");
    EXPECT_EQ(ws.receive(), "hello through the proxy");

    std::string binary(300 * 1024, '\0');
    fill_payload(0, std::span<char>(binary.data(), binary.size()));
    ws.send(binary, /*binary=*/true);
    bool was_binary = false;
    const auto echoed = ws.receive(&was_binary);
    EXPECT_TRUE(was_binary);
    EXPECT_EQ(echoed.size(), binary.size());
    EXPECT_TRUE(echoed == binary);

    for (int i = 0; i < 20; ++i) ws.send("message " + std::to_string(i));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(ws.receive(), "message " + std::to_string(i));
    ws.close();
}

using WebSocketRegistryTest = ProxyFixture;

TEST_F(WebSocketRegistryTest, UpgradedConnectionIsShownAsWebSocket) {
    ProxiedWebSocket ws(proxy_port(), origin.authority(), WebSocketRoute::absolute_form);
    EXPECT_EQ(ws.receive(), "welcome");
    auto connection = wait_for_connection(
        [](const auto& c) { return c.mode == proxy::ConnectionMode::websocket; });
    ASSERT_TRUE(connection) << "no connection in websocket mode";
    EXPECT_EQ(connection->target, origin.authority());
    EXPECT_GT(connection->client_tx, 0u);
    ws.close();
}

INSTANTIATE_TEST_SUITE_P(Routes, WebSocketTest,
                         ::testing::Values(WebSocketRoute::absolute_form,
                                           WebSocketRoute::inside_connect),
                         [](const auto& info) {
                             return info.param == WebSocketRoute::absolute_form
                                        ? std::string("AbsoluteForm")
                                        : std::string("InsideConnect");
                         });

}  // namespace
}  // namespace mproxy::test
