// mproxy_connection_bytes_total scraped over HTTP against the bytes the client and the origin saw
// on the wire, in each mode; the grace period of closed connections; the series limit.

#include <gtest/gtest.h>

#include "tests/control/metrics_exposure.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/recording_origin.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {
namespace {

using Bytes = std::array<double, 4>;

Bytes as_bytes(std::uint64_t client_rx, std::uint64_t client_tx, std::uint64_t upstream_rx,
               std::uint64_t upstream_tx) {
    return {static_cast<double>(client_rx), static_cast<double>(client_tx),
            static_cast<double>(upstream_rx), static_cast<double>(upstream_tx)};
}

std::string show(const Bytes& b) {
    return "client_rx=" + std::to_string(b[0]) + " client_tx=" + std::to_string(b[1]) +
           " upstream_rx=" + std::to_string(b[2]) + " upstream_tx=" + std::to_string(b[3]);
}

class ConnectionSeriesTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.connect_action = connect_action;
        c.closed_connection_grace = grace;
        return c;
    }
    void SetUp() override {
        ProxyFixture::SetUp();
        metrics = std::make_unique<MetricsExposure>(proxy(), series_limit);
    }
    void restart() {
        metrics.reset();
        start_proxy(config());
        metrics = std::make_unique<MetricsExposure>(proxy(), series_limit);
    }

    // Scrapes until the connection to `target` shows `expected` in `mode`, then checks it does.
    void expect_series(const std::string& target, const std::string& mode,
                       const std::function<Bytes()>& expected) {
        auto scrape = metrics->scrape_until(
            [&](const MetricsScrape& s) { return connection_bytes(s, target) == expected(); });
        EXPECT_EQ(show(connection_bytes(scrape, target)), show(expected())) << scrape.text();
        const auto series = scrape.find("mproxy_connection_bytes_total", {{"target", target}});
        ASSERT_EQ(series.size(), 4u) << scrape.text();
        for (const auto& s : series) {
            EXPECT_EQ(s.labels.at("mode"), mode);
            EXPECT_EQ(s.labels.at("client"), "127.0.0.1");
            EXPECT_FALSE(s.labels.at("connection").empty());
        }
    }

    proxy::ConnectAction connect_action = proxy::ConnectAction::tunnel;
    std::chrono::milliseconds grace{30'000};
    std::size_t series_limit = 10'000;
    std::unique_ptr<MetricsExposure> metrics;
};

TEST_F(ConnectionSeriesTest, PlainConnectionMatchesWhatBothEndsSaw) {
    const std::string origin_response =
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'r');
    RecordingOrigin recording(origin_response);
    const auto a = recording.authority();
    const std::string request = "POST http://" + a + "/counted HTTP/1.1\r\nHost: " + a +
                                "\r\nContent-Length: 2500\r\n\r\n" + std::string(2500, 'q');
    auto client = raw_client();
    client.send(request);
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    ASSERT_TRUE(recording.wait_answered());
    expect_series(a, "plain", [&] {
        return as_bytes(request.size(), reply.response->wire.size(), origin_response.size(),
                        recording.received().size());
    });
}

TEST_F(ConnectionSeriesTest, TunnelMatchesWhatBothEndsSaw) {
    const std::string origin_says(3000, 'o');
    TunnelPeer peer(4000, origin_says);
    const auto a = peer.authority();
    RawResponse established;
    auto client = open_connect(a, established);
    ASSERT_EQ(established.status, 200);
    client.send(std::string(4000, 'c'));
    ASSERT_TRUE(client.read_raw(origin_says.size()));
    ASSERT_TRUE(peer.wait_replied());
    const auto connect_size = ("CONNECT " + a + " HTTP/1.1\r\nHost: " + a + "\r\n\r\n").size();
    expect_series(a, "tunnel", [&] {
        return as_bytes(connect_size + 4000, established.wire.size() + origin_says.size(),
                        origin_says.size(), 4000);
    });
}

TEST_F(ConnectionSeriesTest, HttpInsideConnectMatchesWhatBothEndsSaw) {
    connect_action = proxy::ConnectAction::http;
    restart();
    const std::string origin_response =
        "HTTP/1.1 200 OK\r\nContent-Length: 700\r\n\r\n" + std::string(700, 'r');
    RecordingOrigin recording(origin_response);
    const auto a = recording.authority();
    RawResponse established;
    auto client = open_connect(a, established);
    ASSERT_EQ(established.status, 200);
    const std::string request = "PUT /inside HTTP/1.1\r\nHost: " + a +
                                "\r\nContent-Length: 900\r\n\r\n" + std::string(900, 'q');
    client.send(request);
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    ASSERT_TRUE(recording.wait_answered());
    const auto connect_size = ("CONNECT " + a + " HTTP/1.1\r\nHost: " + a + "\r\n\r\n").size();
    expect_series(a, "http", [&] {
        return as_bytes(connect_size + request.size(),
                        established.wire.size() + reply.response->wire.size(),
                        origin_response.size(), recording.received().size());
    });
}

TEST_F(ConnectionSeriesTest, WebSocketMatchesWhatBothEndsSaw) {
    const std::string switching =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    const std::string origin_frames(1500, 'w');
    std::mutex mutex;
    std::string origin_read;
    OneShotEvent origin_done;
    ScriptedOrigin scripted([&](BlockingSocket& connection, std::size_t) {
        std::string rest;
        const auto head = read_request_head(connection, rest);
        connection.send_all(switching);
        if (!connection.read_exactly(rest, 800)) throw std::runtime_error("short frames");
        {
            std::lock_guard lock(mutex);
            origin_read = head + rest;
        }
        connection.send_all(origin_frames);
        origin_done.set();
        connection.read_until_closed(rest);
    });
    const auto a = scripted.authority();
    const std::string upgrade =
        "GET http://" + a + "/socket HTTP/1.1\r\nHost: " + a +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    auto client = raw_client();
    client.send(upgrade);
    auto switched = client.read_response();
    ASSERT_TRUE(switched.response) << switched.error;
    ASSERT_EQ(switched.response->status, 101);
    client.send(std::string(800, 'c'));
    ASSERT_TRUE(client.read_raw(origin_frames.size()));
    ASSERT_TRUE(origin_done.wait(step_deadline()));
    expect_series(a, "websocket", [&] {
        std::lock_guard lock(mutex);
        return as_bytes(upgrade.size() + 800, switched.response->wire.size() + origin_frames.size(),
                        switching.size() + origin_frames.size(), origin_read.size());
    });
}

TEST_F(ConnectionSeriesTest, AClosedConnectionStaysForTheGracePeriodThenGoes) {
    grace = std::chrono::milliseconds(1500);
    restart();
    const std::string origin_response = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    RecordingOrigin recording(origin_response);
    const auto a = recording.authority();
    const std::string request = "GET http://" + a + "/ HTTP/1.1\r\nHost: " + a + "\r\n\r\n";
    std::size_t response_size = 0;
    {
        auto client = raw_client();
        client.send(request);
        auto reply = client.read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        response_size = reply.response->wire.size();
    }  // the client closes
    ASSERT_TRUE(wait_for_no_connections());
    // Closed, and still there with its last bytes.
    const auto closed = metrics->scrape();
    EXPECT_EQ(show(connection_bytes(closed, a)),
              show(as_bytes(request.size(), response_size, origin_response.size(),
                            recording.received().size())))
        << closed.text();
    // Then gone, once the grace period has passed.
    const auto later = metrics->scrape_until([&](const MetricsScrape& s) {
        return s.find("mproxy_connection_bytes_total", {{"target", a}}).empty();
    });
    EXPECT_TRUE(later.find("mproxy_connection_bytes_total", {{"target", a}}).empty())
        << later.text();
    // Its bytes are not lost from the totals.
    EXPECT_GE(*later.value("mproxy_bytes_total", {{"mode", "plain"}, {"direction", "client_rx"}}),
              static_cast<double>(request.size()));
}

TEST_F(ConnectionSeriesTest, TheSeriesLimitKeepsTheNewestConnectionsAndCountsTheRest) {
    series_limit = 8;  // two connections
    restart();
    std::vector<std::unique_ptr<ScriptedOrigin>> origins;
    std::vector<RawHttpClient> clients;
    std::vector<std::string> targets;
    for (int i = 0; i < 3; ++i) {
        origins.push_back(
            std::make_unique<ScriptedOrigin>([](BlockingSocket& connection, std::size_t) {
                std::string ignored;
                connection.read_until_closed(ignored);
            }));
        targets.push_back(origins.back()->authority());
        RawResponse established;
        clients.push_back(open_connect(targets.back(), established));
        ASSERT_EQ(established.status, 200);
        // Connections are opened one after another, so ids grow in this order.
        ASSERT_TRUE(wait_for_connection([&](const auto& c) { return c.target == targets.back(); }));
    }
    const auto scrape = metrics->scrape();
    EXPECT_TRUE(scrape.find("mproxy_connection_bytes_total", {{"target", targets[0]}}).empty())
        << scrape.text();
    EXPECT_EQ(scrape.find("mproxy_connection_bytes_total", {{"target", targets[1]}}).size(), 4u)
        << scrape.text();
    EXPECT_EQ(scrape.find("mproxy_connection_bytes_total", {{"target", targets[2]}}).size(), 4u)
        << scrape.text();
    EXPECT_EQ(scrape.find("mproxy_connection_bytes_total").size(), 8u);
    EXPECT_EQ(scrape.value("mproxy_connection_series_omitted"), 4.0);
    const auto first_total = scrape.value("mproxy_connection_series_omitted_total");
    ASSERT_TRUE(first_total);
    const auto again = metrics->scrape();
    EXPECT_EQ(again.value("mproxy_connection_series_omitted_total"), *first_total + 4.0);
}

class InterceptedConnectionSeriesTest : public MitmFixture {};

TEST_F(InterceptedConnectionSeriesTest, MitmConnectionMatchesTheRegistry) {
    MetricsExposure metrics(proxy());
    TlsOrigin origin_tls{pki().localhost()};
    HttpsTransfer get(proxy_ca_file());
    prepare(get, origin_tls.url("/bytes/5000"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.body().bytes, 5000u);
    // TLS record bytes are known only to the registry (whose exactness the integration tests prove
    // with cleartext): the series must carry the same figures, labelled mitm.
    const auto target = origin_tls.authority("localhost");
    const auto live =
        wait_for_connection([&](const auto& c) { return c.target == target && c.exchanges == 1; });
    ASSERT_TRUE(live);
    const auto expected =
        as_bytes(live->client_rx, live->client_tx, live->upstream_rx, live->upstream_tx);
    const auto scrape = metrics.scrape_until(
        [&](const MetricsScrape& s) { return connection_bytes(s, target) == expected; });
    EXPECT_EQ(show(connection_bytes(scrape, target)), show(expected)) << scrape.text();
    EXPECT_GT(live->client_tx, 5000u);
    EXPECT_GT(live->upstream_rx, 5000u);
    EXPECT_EQ(
        scrape.find("mproxy_connection_bytes_total", {{"target", target}, {"mode", "mitm"}}).size(),
        4u);
}

}  // namespace
}  // namespace mproxy::test
