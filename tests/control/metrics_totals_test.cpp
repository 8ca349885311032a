// The totals and distributions of /metrics after real traffic: exchanges by status class with
// their histograms, rejects by rule, upstream failures by cause, connections by mode, 1xx relayed,
// interception (mints, cache hits, handshakes), flow events and the process metrics.

#include <gtest/gtest.h>
#include <unistd.h>

#include "proxy/rules/rule_set.hpp"
#include "tests/control/metrics_exposure.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/unreachable_origins.hpp"

namespace mproxy::test {
namespace {

class MetricsTotalsTest : public ProxyFixture {
  protected:
    void SetUp() override {
        ProxyFixture::SetUp();
        metrics = std::make_unique<MetricsExposure>(proxy());
    }
    long get(const std::string& url) {
        CurlTransfer transfer;
        transfer.url(url);
        route(transfer, ClientRoute::absolute_form);
        EXPECT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        return transfer.response_code();
    }
    void publish(std::vector<proxy::Rule> rules, proxy::ConnectAction default_action) {
        auto compiled = proxy::RuleSet::compile(std::move(rules), default_action, ++generation_);
        ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const proxy::RuleSet>>(compiled));
        proxy().rules().publish(std::get<std::shared_ptr<const proxy::RuleSet>>(compiled));
    }
    // Histogram invariants Prometheus relies on: cumulative buckets, +Inf equal to the count.
    static void expect_consistent_histogram(const MetricsScrape& scrape, const std::string& name,
                                            double count) {
        EXPECT_EQ(scrape.value(name + "_count"), count) << name;
        const auto buckets = scrape.find(name + "_bucket");
        ASSERT_GE(buckets.size(), 2u) << name;
        double previous = 0;
        for (const auto& bucket : buckets) {
            EXPECT_GE(bucket.value, previous) << name << " le=" << bucket.labels.at("le");
            previous = bucket.value;
        }
        EXPECT_EQ(buckets.back().labels.at("le"), "+Inf");
        EXPECT_EQ(buckets.back().value, count);
    }

    std::unique_ptr<MetricsExposure> metrics;
    std::uint64_t generation_ = 0;
};

TEST_F(MetricsTotalsTest, ExchangesAreCountedByStatusClassWithTheirDurations) {
    EXPECT_EQ(get(origin.url("/bytes/100")), 200);
    EXPECT_EQ(get(origin.url("/status/204")), 204);
    EXPECT_EQ(get(origin.url("/status/304")), 304);
    RefusingPort refusing;
    EXPECT_EQ(get("http://127.0.0.1:" + std::to_string(refusing.port()) + "/"), 502);
    auto client = raw_client();
    client.send("GET /not-absolute HTTP/1.1\r\nHost: x\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 400);

    const auto scrape = metrics->scrape_until([](const MetricsScrape& s) {
        return s.value("mproxy_exchanges_total", {{"status_class", "4xx"}}) == 1.0;
    });
    EXPECT_EQ(scrape.value("mproxy_exchanges_total", {{"status_class", "2xx"}}), 2.0)
        << scrape.text();
    EXPECT_EQ(scrape.value("mproxy_exchanges_total", {{"status_class", "3xx"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_exchanges_total", {{"status_class", "4xx"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_exchanges_total", {{"status_class", "5xx"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_exchanges_total", {{"status_class", "1xx"}}), 0.0);
    EXPECT_EQ(scrape.value("mproxy_upstream_connect_failures_total", {{"cause", "refused"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_upstream_connect_failures_total", {{"cause", "timeout"}}), 0.0);
    // The three the origin answered have durations; mproxy's own answers do not.
    expect_consistent_histogram(scrape, "mproxy_exchange_duration_seconds", 3);
    expect_consistent_histogram(scrape, "mproxy_exchange_time_to_first_byte_seconds", 3);
    EXPECT_GT(*scrape.value("mproxy_exchange_duration_seconds_sum"), 0.0);
}

TEST_F(MetricsTotalsTest, RejectsAreCountedUnderTheRuleThatRefused) {
    proxy::Rule rule;
    rule.id = "block-origin";
    rule.match.hosts = {"127.0.0.1"};
    rule.match.ports = {{origin.port(), origin.port()}};
    rule.action = proxy::ConnectAction::reject;
    publish({rule}, proxy::ConnectAction::tunnel);
    EXPECT_EQ(get(origin.url("/bytes/10")), 403);
    RawResponse refused;
    auto connect = open_connect(origin.authority(), refused);
    EXPECT_EQ(refused.status, 403);

    publish({}, proxy::ConnectAction::reject);
    RawResponse by_default;
    auto other = open_connect("127.0.0.1:9", by_default);
    EXPECT_EQ(by_default.status, 403);

    const auto scrape = metrics->scrape();
    EXPECT_EQ(scrape.value("mproxy_rejects_total", {{"rule", "block-origin"}}), 2.0)
        << scrape.text();
    EXPECT_EQ(scrape.value("mproxy_rejects_total", {{"rule", "(default)"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_rule_set_reloads_total"), 2.0);
    EXPECT_EQ(scrape.value("mproxy_rule_set_version"), 2.0);
    EXPECT_EQ(scrape.value("mproxy_rules"), 0.0);
    EXPECT_GE(*scrape.value("mproxy_connections_opened_total", {{"mode", "rejected"}}), 2.0);
}

TEST_F(MetricsTotalsTest, ConnectionsByModeAddUpAndTheirBytesAreKept) {
    RawResponse established;
    auto tunnel = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    auto plain = raw_client();
    plain.send(absolute_get(origin.authority(), "/bytes/50"));
    auto reply = plain.read_response();
    ASSERT_TRUE(reply.response) << reply.error;

    // A write is counted when it completes, which may be after the client has read it.
    const auto client_tx =
        static_cast<double>(reply.response->wire.size() + established.wire.size());
    auto scrape = metrics->scrape_until([&](const MetricsScrape& s) {
        return s.value("mproxy_connections_active", {{"mode", "tunnel"}}) == 1.0 &&
               s.value("mproxy_connections_active", {{"mode", "plain"}}) == 1.0 &&
               s.value("mproxy_bytes_total", {{"mode", "plain"}, {"direction", "client_tx"}}) ==
                   client_tx;
    });
    EXPECT_EQ(scrape.value("mproxy_connections_active", {{"mode", "tunnel"}}), 1.0)
        << scrape.text();
    EXPECT_EQ(scrape.value("mproxy_connections_active", {{"mode", "plain"}}), 1.0);
    // Both were accepted as plain; the CONNECT moved one of them to tunnel.
    EXPECT_EQ(scrape.value("mproxy_connections_opened_total", {{"mode", "plain"}}), 2.0);
    EXPECT_EQ(scrape.value("mproxy_connections_closed_total", {{"mode", "plain"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_connections_opened_total", {{"mode", "tunnel"}}), 1.0);
    EXPECT_EQ(scrape.value("mproxy_bytes_total", {{"mode", "plain"}, {"direction", "client_tx"}}),
              client_tx)
        << "the 200 to the CONNECT was written before the tunnel began";

    const auto plain_bytes =
        *scrape.value("mproxy_bytes_total", {{"mode", "plain"}, {"direction", "upstream_rx"}});
    tunnel.socket().close();
    plain.socket().close();
    ASSERT_TRUE(wait_for_no_connections());
    scrape = metrics->scrape();
    for (const char* mode : {"plain", "tunnel"}) {
        EXPECT_EQ(scrape.value("mproxy_connections_active", {{"mode", mode}}), 0.0) << mode;
        EXPECT_EQ(scrape.value("mproxy_connections_opened_total", {{"mode", mode}}),
                  scrape.value("mproxy_connections_closed_total", {{"mode", mode}}))
            << mode;
    }
    // Closing folds a connection's bytes into the totals: nothing goes backwards.
    EXPECT_EQ(scrape.value("mproxy_bytes_total", {{"mode", "plain"}, {"direction", "upstream_rx"}}),
              plain_bytes);
}

TEST_F(MetricsTotalsTest, InterimResponsesRelayedAreCounted) {
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, ClientRoute::absolute_form);
    post.upload(64 * 1024, UploadFraming::content_length);
    post.expect_continue(true);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    ASSERT_EQ(post.statuses().front(), 100);
    const auto scrape = metrics->scrape_until([](const MetricsScrape& s) {
        return s.value("mproxy_exchanges_total", {{"status_class", "2xx"}}) == 1.0;
    });
    EXPECT_EQ(scrape.value("mproxy_interim_responses_total"), 1.0) << scrape.text();
}

TEST_F(MetricsTotalsTest, FlowEventsAndTheProcessAreDescribed) {
    EXPECT_EQ(get(origin.url("/bytes/10")), 200);
    // Closed, so its last event (connection closed) is in the log before the scrape.
    ASSERT_TRUE(wait_for_no_connections());
    const auto scrape = metrics->scrape();
    EXPECT_EQ(scrape.value("mproxy_flow_events_total"),
              static_cast<double>(proxy().flows().last_sequence()));
    EXPECT_GT(*scrape.value("mproxy_flow_events_total"), 0.0);
    EXPECT_EQ(scrape.value("mproxy_flow_subscribers"), 0.0);
    EXPECT_EQ(scrape.value("mproxy_flow_events_dropped_total"), 0.0);

    // Descriptors come and go with the test's own threads: the count is checked for sense only.
    const auto open_fds = *scrape.value("process_open_fds");
    EXPECT_GT(open_fds, 5.0);
    EXPECT_LT(open_fds, *scrape.value("process_max_fds"));
    EXPECT_GT(*scrape.value("process_resident_memory_bytes"), 1024.0 * 1024);
    EXPECT_GT(*scrape.value("process_max_fds"), 0.0);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto started = *scrape.value("process_start_time_seconds");
    EXPECT_LT(started, now + 1);
    EXPECT_GT(started, now - 3600) << "this test process started within the hour";
    EXPECT_GE(*scrape.value("process_cpu_seconds_total"), 0.0);
    EXPECT_EQ(scrape.find("mproxy_build_info").size(), 1u);
}

class InterceptionMetricsTest : public MitmFixture {};

TEST_F(InterceptionMetricsTest, MintsCacheHitsAndHandshakesAreCounted) {
    MetricsExposure metrics(proxy());
    TlsOrigin origin_tls{pki().localhost()};
    const auto ca_file = proxy_ca_file();
    for (int i = 0; i < 2; ++i) {  // two connections for one name: one mint, then a cache hit
        HttpsTransfer get(ca_file);
        prepare(get, origin_tls.url("/bytes/100"));
        ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    }
    HttpsTransfer distrusting;  // the system store only: it refuses mproxy's leaf
    prepare(distrusting, origin_tls.url("/bytes/100"));
    EXPECT_NE(distrusting.perform(), CURLE_OK);

    const auto scrape = metrics.scrape_until([](const MetricsScrape& s) {
        return s.value("mproxy_tls_handshake_failures_total", {{"side", "client"}}) == 1.0;
    });
    EXPECT_EQ(scrape.value("mproxy_leaf_certificates_minted_total"), 1.0) << scrape.text();
    EXPECT_EQ(scrape.value("mproxy_leaf_cache_misses_total"), 1.0);
    EXPECT_GE(*scrape.value("mproxy_leaf_cache_hits_total"), 2.0);
    EXPECT_EQ(scrape.value("mproxy_leaf_cache_entries"), 1.0);
    EXPECT_EQ(scrape.value("mproxy_leaf_mint_duration_seconds_count"), 1.0);
    EXPECT_EQ(scrape.value("mproxy_tls_handshakes_total", {{"side", "client"}}), 3.0);
    EXPECT_EQ(scrape.value("mproxy_tls_handshake_failures_total", {{"side", "client"}}), 1.0);
    EXPECT_GE(*scrape.value("mproxy_tls_handshakes_total", {{"side", "upstream"}}), 2.0);
    EXPECT_EQ(scrape.value("mproxy_tls_handshake_failures_total", {{"side", "upstream"}}), 0.0);
    EXPECT_EQ(scrape.value("mproxy_connections_opened_total", {{"mode", "mitm"}}), 3.0);
}

}  // namespace
}  // namespace mproxy::test

namespace mproxy::test {
namespace {

// With a state directory the capture store is open and described; a body over its cap is counted.
class CaptureMetricsTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.state_dir = state.path().string();
        c.capture.response_body_bytes = 10;
        return c;
    }
    TemporaryDirectory state{"mproxy-capture-metrics"};
};

TEST_F(CaptureMetricsTest, TheStoreIsDescribed) {
    MetricsExposure metrics(proxy());
    const auto before = metrics.scrape();
    EXPECT_EQ(before.value("mproxy_captures_stored_total"), 0.0) << before.text();
    CurlTransfer get;
    get.url(origin.url("/bytes/100"));
    route(get, ClientRoute::absolute_form);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    const auto scrape = metrics.scrape_until(
        [](const MetricsScrape& s) { return s.value("mproxy_captures_stored_total") == 1.0; });
    EXPECT_EQ(scrape.value("mproxy_captures_stored_total"), 1.0) << scrape.text();
    EXPECT_EQ(scrape.value("mproxy_capture_bodies_truncated_total"), 1.0);
    EXPECT_EQ(scrape.value("mproxy_captures_dropped_total", {{"reason", "queue_full"}}), 0.0);
    EXPECT_GT(*scrape.value("mproxy_capture_store_bytes"), 100.0);
    EXPECT_EQ(scrape.value("mproxy_capture_disk_full"), 0.0);
}

TEST_F(MetricsTotalsTest, WithoutAStateDirectoryNoCaptureSeriesAreShown) {
    EXPECT_FALSE(metrics->scrape().value("mproxy_captures_stored_total").has_value());
}

}  // namespace
}  // namespace mproxy::test
