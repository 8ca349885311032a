// What an intercepted CONNECT turns into besides plain requests: cleartext HTTP when the client's
// first bytes are not TLS, a WebSocket over the intercepted TLS, and how the connection registry
// shows an intercepted connection.

#include <gtest/gtest.h>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/tls_origin.hpp"
#include "tests/support/tls_websocket.hpp"

namespace mproxy::test {
namespace {

class MitmModesTest : public MitmFixture {
  protected:
    TlsOrigin tls_origin{pki().localhost()};
};

TEST_F(MitmModesTest, ANonTlsFirstByteIsServedAsCleartextHttp) {
    CurlTransfer get;  // curl -p: CONNECT, then plain HTTP inside the tunnel
    get.url(origin.url("/echo-head"));
    get.via_proxy(proxy_port(), /*tunnel=*/true);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.response_code(), 200);
    // Parsed and re-issued by the exchange engine (a raw tunnel would add no Via).
    EXPECT_TRUE(get.body_text().starts_with("GET /echo-head HTTP/1.1\r\n")) << get.body_text();
    EXPECT_TRUE(contains_text(get.body_text(), "\r\nVia: ")) << get.body_text();

    get.url(origin.url("/bytes/200000"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(200000));
    EXPECT_EQ(get.connects_made(), 0);

    const auto connection = wait_for_connection(
        [](const proxy::ConnectionSnapshot& c) { return c.exchanges >= 2; });
    ASSERT_TRUE(connection) << "no connection with both exchanges";
    EXPECT_EQ(connection->mode, proxy::ConnectionMode::http) << describe(*connection);
    EXPECT_EQ(proxy().interception().minter().stats().mints, 0u) << "a leaf minted for cleartext";
    EXPECT_EQ(origin.requests(), 2u);
}

TEST_F(MitmModesTest, WebSocketOverInterceptedTls) {
    TlsWebSocket ws("localhost", tls_origin.port(), proxy_ca_file(), proxy_port());
    EXPECT_TRUE(contains_text(ws.connect_reply(), " 200")) << ws.connect_reply();
    const auto leaf = parse_certificate(ws.peer_certificate_pem());
    ASSERT_TRUE(leaf);
    EXPECT_TRUE(leaf->issuer_common_name.starts_with("mproxy CA")) << leaf->issuer;
    EXPECT_EQ(leaf->dns_names, std::vector<std::string>{"localhost"});

    EXPECT_EQ(ws.receive(), "welcome");  // origin to client, unprompted
    ws.send("through the interception");
    EXPECT_EQ(ws.receive(), "through the interception");
    std::string binary(300 * 1024, '\0');
    fill_payload(7, std::span<char>(binary.data(), binary.size()));
    ws.send(binary, /*binary=*/true);
    bool was_binary = false;
    const auto echoed = ws.receive(&was_binary);
    EXPECT_TRUE(was_binary);
    EXPECT_EQ(echoed.size(), binary.size());
    EXPECT_TRUE(echoed == binary) << "the binary message came back altered";

    const auto connection = wait_for_connection([](const proxy::ConnectionSnapshot& c) {
        return c.mode == proxy::ConnectionMode::websocket;
    });
    EXPECT_TRUE(connection) << "the intercepted connection was never marked websocket";
    ws.close();
    ASSERT_TRUE(tls_origin.wait_for_handshakes(1));
    EXPECT_EQ(tls_origin.handshakes().front().server_name, "localhost");
}

TEST_F(MitmModesTest, TheRegistryShowsAnInterceptedConnectionWithWireBytesBothWays) {
    constexpr std::uint64_t size = 50'000;
    HttpsTransfer get(proxy_ca_file());  // held open: curl keeps the connection alive
    prepare(get, tls_origin.url("/bytes/" + std::to_string(size)));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.body().bytes, size);

    const auto connection = wait_for_connection(
        [](const proxy::ConnectionSnapshot& c) { return c.exchanges >= 1; });
    ASSERT_TRUE(connection) << "no connection finished its exchange";
    EXPECT_EQ(connection->mode, proxy::ConnectionMode::mitm) << describe(*connection);
    EXPECT_EQ(connection->target, tls_origin.authority("localhost")) << describe(*connection);
    // TLS records on both sides: more than the body, plus the handshakes' certificates.
    EXPECT_GT(connection->client_tx, size) << describe(*connection);
    EXPECT_GT(connection->upstream_rx, size) << describe(*connection);
    EXPECT_GT(connection->client_rx, 0u) << describe(*connection);
    EXPECT_GT(connection->upstream_tx, 0u) << describe(*connection);
    EXPECT_EQ(proxy().connections().live(), 1u);
}

}  // namespace
}  // namespace mproxy::test
