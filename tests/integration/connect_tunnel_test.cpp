// CONNECT with the tunnel action: 200, then a blind relay that passes a half-close on while the
// other direction keeps flowing.

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/one_shot_event.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/scripted_origin.hpp"
#include "tests/support/unreachable_origins.hpp"

namespace mproxy::test {
namespace {

class ConnectTunnelTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::tunnel;
        return c;
    }
};

TEST_F(ConnectTunnelTest, CurlTalksToTheOriginThroughTheTunnel) {
    constexpr std::uint64_t size = 2 * 1024 * 1024;
    CurlTransfer get;
    get.url(origin.url("/bytes/" + std::to_string(size)));
    get.via_proxy(proxy_port(), /*tunnel=*/true);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));
    auto tunnel =
        wait_for_connection([](const auto& c) { return c.mode == proxy::ConnectionMode::tunnel; });
    ASSERT_TRUE(tunnel);
    EXPECT_EQ(tunnel->target, origin.authority());
}

TEST_F(ConnectTunnelTest, TheTunnelIsBlind) {
    // Not HTTP at all: the tunnel must not care.
    const std::string hello(
        "\x16\x03\x01\x00\x05"
        "hello",
        10);
    ScriptedOrigin scripted([&](BlockingSocket& connection, std::size_t) {
        std::string got;
        if (!connection.read_exactly(got, hello.size())) throw std::runtime_error("short read");
        connection.send_all("reply to " + got);
        connection.read_until_closed(got);
    });
    RawResponse established;
    auto client = open_connect(scripted.authority(), established);
    ASSERT_EQ(established.status, 200);
    client.send(hello);
    auto reply = client.read_raw(9 + hello.size());
    ASSERT_TRUE(reply);
    EXPECT_EQ(*reply, "reply to " + hello);
}

// The client half-closes first: the origin must see EOF, and its answer, written after that,
// must still reach the client.
TEST_F(ConnectTunnelTest, ClientHalfCloseIsPassedOnAndTheOtherWayKeepsFlowing) {
    OneShotEvent origin_saw_eof;
    ScriptedOrigin scripted([&](BlockingSocket& connection, std::size_t) {
        std::string got;
        if (connection.read_until_closed(got) != ReadStatus::eof)
            throw std::runtime_error("no EOF from the tunnel");
        origin_saw_eof.set();
        connection.send_all("after your FIN, I got: " + got);
        connection.shutdown_send();
    });
    RawResponse established;
    auto client = open_connect(scripted.authority(), established);
    ASSERT_EQ(established.status, 200);
    client.send("request body");
    client.socket().shutdown_send();
    ASSERT_TRUE(origin_saw_eof.wait(step_deadline())) << "the FIN did not cross the tunnel";
    std::string rest;
    EXPECT_EQ(client.wait_closed(&rest), ReadStatus::eof);
    EXPECT_EQ(rest, "after your FIN, I got: request body");
    EXPECT_TRUE(scripted.failures().empty()) << scripted.failures().front();
}

// The origin half-closes first: the client sees EOF and can still send.
TEST_F(ConnectTunnelTest, OriginHalfCloseIsPassedOnAndTheOtherWayKeepsFlowing) {
    OneShotEvent origin_got_late_bytes;
    std::string late;
    ScriptedOrigin scripted([&](BlockingSocket& connection, std::size_t) {
        connection.send_all("all I have to say");
        connection.shutdown_send();
        std::string got;
        if (!connection.read_exactly(got, 12))
            throw std::runtime_error("late bytes missing: " + got);
        late = got;
        origin_got_late_bytes.set();
        connection.read_until_closed(got);
    });
    RawResponse established;
    auto client = open_connect(scripted.authority(), established);
    ASSERT_EQ(established.status, 200);
    std::string said;
    ASSERT_EQ(client.wait_closed(&said), ReadStatus::eof);
    EXPECT_EQ(said, "all I have to say");
    client.socket().send_all("still here!!");
    ASSERT_TRUE(origin_got_late_bytes.wait(step_deadline()))
        << "the client's bytes after the origin's FIN were lost";
    EXPECT_EQ(late, "still here!!");
}

// Bytes the client sent right behind the CONNECT head (already in the proxy's buffer) are relayed.
TEST_F(ConnectTunnelTest, BytesSentWithTheConnectHeadAreRelayed) {
    ScriptedOrigin scripted([](BlockingSocket& connection, std::size_t) {
        std::string got;
        if (!connection.read_exactly(got, 11))
            throw std::runtime_error("early bytes missing: " + got);
        connection.send_all("echo:" + got);
        connection.read_until_closed(got);
    });
    RawHttpClient client(proxy_port());
    const auto a = scripted.authority();
    client.send("CONNECT " + a + " HTTP/1.1\r\nHost: " + a + "\r\n\r\nearly bytes");
    auto established = client.read_connect_reply();
    ASSERT_TRUE(established.response) << established.error;
    ASSERT_EQ(established.response->status, 200);
    auto echoed = client.read_raw(16);
    ASSERT_TRUE(echoed);
    EXPECT_EQ(*echoed, "echo:early bytes");
}

// Sends `size` reference-payload bytes; on failure just stops (the reader notices what is missing).
void send_payload(BlockingSocket& socket, std::size_t size) noexcept {
    try {
        std::string block(64 * 1024, '\0');
        for (std::size_t done = 0; done < size; done += block.size()) {
            fill_payload(done, std::span<char>(block.data(), block.size()));
            socket.send_all(block);
        }
    } catch (const std::exception&) {
    }
}

TEST_F(ConnectTunnelTest, LargeTransferBothWaysAtOnce) {
    constexpr std::size_t size = 8 * 1024 * 1024;
    ScriptedOrigin scripted([](BlockingSocket& connection, std::size_t) {
        // Send and receive at the same time: a relay that does one direction at a time deadlocks.
        std::thread sender([&] {
            send_payload(connection, size);
            connection.shutdown_send();
        });
        std::string got;
        connection.read_until_closed(got);
        sender.join();
        BodyHash hash;
        hash.update(got);
        if (got.size() != size || hash.hex() != payload_hash_hex(size))
            throw std::runtime_error("origin received " + std::to_string(got.size()) +
                                     " bytes, wrong or short");
    });
    RawResponse established;
    auto client = open_connect(scripted.authority(), established);
    ASSERT_EQ(established.status, 200);
    std::thread sender([&] {
        send_payload(client.socket(), size);
        client.socket().shutdown_send();
    });
    std::string received;
    const auto end = client.wait_closed(&received);
    sender.join();
    EXPECT_EQ(end, ReadStatus::eof);
    EXPECT_EQ(received.size(), size);
    BodyHash hash;
    hash.update(received);
    EXPECT_EQ(hash.hex(), payload_hash_hex(size));
    ASSERT_TRUE(wait_for_no_connections());
    EXPECT_TRUE(scripted.failures().empty()) << scripted.failures().front();
}

TEST_F(ConnectTunnelTest, UnreachableTargetGets502) {
    RefusingPort refusing;
    RawResponse reply;
    auto client = open_connect("127.0.0.1:" + std::to_string(refusing.port()), reply);
    EXPECT_EQ(reply.status, 502);
    EXPECT_FALSE(reply.body.empty());
}

TEST_F(ConnectTunnelTest, UnresolvableTargetGets502) {
    RawResponse reply;
    auto client = open_connect("no-such-host.invalid:443", reply);
    EXPECT_EQ(reply.status, 502);
}

class ConnectRejectTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = proxy::ConnectAction::reject;
        return c;
    }
};

TEST_F(ConnectRejectTest, ConnectIsRefusedWith403AndAReason) {
    RawResponse reply;
    auto client = open_connect(origin.authority(), reply);
    EXPECT_EQ(reply.status, 403);
    EXPECT_FALSE(reply.body.empty()) << "no reason given";
    EXPECT_EQ(origin.accepted_connections(), 0u);
}

TEST_F(ConnectRejectTest, PlainRequestsStillWork) {
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/plain"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "plain");
}

}  // namespace
}  // namespace mproxy::test
