// TrafficService over a real channel after real curl downloads through the proxy, and the
// TrafficSampler on its own (short interval and window) over the proxy's registry: live and closed
// connections both count, and old traffic leaves the window while staying in the totals.

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "control/traffic_sampler.hpp"
#include "tests/control/control_fixture.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& condition, Deadline deadline = step_deadline()) {
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

const v1::TrafficEntry* find(const google::protobuf::RepeatedPtrField<v1::TrafficEntry>& entries,
                             const std::string& key) {
    for (const auto& entry : entries)
        if (entry.key() == key) return &entry;
    return nullptr;
}

std::chrono::nanoseconds span_of(const v1::TrafficWindow& window) {
    return std::chrono::seconds(window.span().seconds()) + std::chrono::nanoseconds(window.span().nanos());
}

class TrafficServiceTest : public ControlFixture {
  protected:
    // A GET of /bytes/<size> from `from` through the proxy; the transfer keeps its connection.
    void download(CurlTransfer& transfer, const TestOrigin& from, std::uint64_t size) {
        transfer.url(from.url("/bytes/" + std::to_string(size)));
        transfer.via_proxy(proxy_port());
        ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        ASSERT_EQ(transfer.body().bytes, size);
    }

    grpc::Status summary(std::uint32_t top, v1::GetTrafficSummaryResponse& out) {
        v1::GetTrafficSummaryRequest request;
        request.set_top(top);
        out.Clear();
        return traffic->GetTrafficSummary(call().get(), request, &out);
    }

    TestOrigin other;  // a second target
};

TEST_F(TrafficServiceTest, SinceStartCountsLiveAndClosedConnectionsByTargetAndClient) {
    {
        CurlTransfer closed;  // its connection ends with the scope: counted from the closed totals
        download(closed, origin, 300'000);
    }
    ASSERT_TRUE(wait_for_no_connections());
    CurlTransfer live;  // still connected: counted from its live counters
    download(live, other, 50'000);

    // Exact once the proxy's counters have caught up with what the origins saw.
    v1::GetTrafficSummaryResponse response;
    ASSERT_TRUE(eventually([&] {
        if (!summary(0, response).ok()) return false;
        const auto* big = find(response.since_start().by_target(), origin.authority());
        const auto* small = find(response.since_start().by_target(), other.authority());
        return big && small && big->upstream_rx_bytes() == origin.bytes_written() &&
               big->upstream_tx_bytes() == origin.bytes_read() && small->upstream_rx_bytes() == other.bytes_written() &&
               small->upstream_tx_bytes() == other.bytes_read() &&
               // A write to the client is counted when it completes, which may be after curl
               // has read it: wait for both bodies' bytes too.
               response.since_start().by_client_size() == 1 &&
               response.since_start().by_client(0).client_tx_bytes() >= 350'000u;
    })) << response.DebugString();

    const auto& since_start = response.since_start();
    ASSERT_EQ(since_start.by_target_size(), 2);
    EXPECT_EQ(since_start.by_target(0).key(), origin.authority()) << "heaviest target first";
    EXPECT_EQ(since_start.by_target(1).key(), other.authority());
    EXPECT_GE(since_start.by_target(0).upstream_rx_bytes(), 300'000u);
    EXPECT_GE(since_start.by_target(1).upstream_rx_bytes(), 50'000u);
    EXPECT_GE(since_start.by_target(0).client_tx_bytes(), 300'000u);
    EXPECT_EQ(since_start.by_target(0).connections(), 1u);
    EXPECT_EQ(since_start.by_target(1).connections(), 1u);

    ASSERT_EQ(since_start.by_client_size(), 1);
    const auto& client = since_start.by_client(0);
    EXPECT_EQ(client.key(), "127.0.0.1");
    EXPECT_EQ(client.connections(), 2u);
    EXPECT_EQ(client.upstream_rx_bytes(), origin.bytes_written() + other.bytes_written());
    EXPECT_GE(client.client_tx_bytes(), 350'000u);
    EXPECT_GT(client.client_rx_bytes(), 0u);
    EXPECT_GT(span_of(since_start), 0ns);

    // The control server's sampler is younger than a minute: its window is its whole life so far.
    const auto* recent = find(response.last_minute().by_target(), origin.authority());
    ASSERT_NE(recent, nullptr) << response.last_minute().DebugString();
    EXPECT_EQ(recent->upstream_rx_bytes(), origin.bytes_written());
    EXPECT_EQ(recent->connections(), 0u) << "connections are counted since start only";
    EXPECT_LE(span_of(response.last_minute()), span_of(since_start) + 1s);
}

TEST_F(TrafficServiceTest, TopLimitsEachListAndIsBounded) {
    CurlTransfer first, second;
    download(first, origin, 20'000);
    download(second, other, 10'000);

    v1::GetTrafficSummaryResponse response;
    ASSERT_TRUE(eventually([&] {
        return summary(0, response).ok() && response.since_start().by_target_size() == 2;
    })) << response.DebugString();
    ASSERT_TRUE(summary(1, response).ok());
    ASSERT_EQ(response.since_start().by_target_size(), 1);
    EXPECT_EQ(response.since_start().by_target(0).key(), origin.authority());
    EXPECT_LE(response.last_minute().by_target_size(), 1);
    ASSERT_TRUE(summary(1000, response).ok());
    EXPECT_EQ(response.since_start().by_target_size(), 2);

    const auto refused = summary(1001, response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(refused.error_message().starts_with("top")) << refused.error_message();
}

TEST_F(TrafficServiceTest, RefusesCallsWithoutTheToken) {
    v1::GetTrafficSummaryResponse response;
    EXPECT_EQ(traffic->GetTrafficSummary(call("").get(), {}, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
}

// The sampler on its own, over the proxy's registry and real traffic.
class TrafficSamplerTest : public ControlFixture {
  protected:
    // A download on its own connection, closed before this returns and settled: the registry's
    // closed totals for the origin then hold exactly what the origin sent.
    void download(const TestOrigin& from, std::uint64_t size) {
        {
            CurlTransfer get;
            get.url(from.url("/bytes/" + std::to_string(size)));
            get.via_proxy(proxy_port());
            ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
            ASSERT_EQ(get.body().bytes, size);
        }
        ASSERT_TRUE(wait_for_no_connections());
        ASSERT_TRUE(eventually([&] {
            const auto closed = proxy().connections().closed_traffic().by_target();
            const auto found = closed.find(from.authority());
            return found != closed.end() && found->second.upstream_rx == from.bytes_written();
        })) << "the origin's and the proxy's counts never agreed";
    }

    TestOrigin other;
};

TEST_F(TrafficSamplerTest, CumulativeTrafficKeepsBytesWhenAConnectionCloses) {
    auto live = std::make_unique<CurlTransfer>();
    live->url(origin.url("/bytes/40000"));
    live->via_proxy(proxy_port());
    ASSERT_EQ(live->perform(), CURLE_OK) << live->error_text();
    // Settled: everything the origin sent was read, everything curl received was counted.
    const auto to_client = static_cast<std::uint64_t>(live->header_bytes()) + 40'000;
    const auto connection = wait_for_connection([&](const auto& c) {
        return c.upstream_rx == origin.bytes_written() && c.upstream_tx == origin.bytes_read() && c.client_tx == to_client;
    });
    ASSERT_TRUE(connection);

    const auto while_live = control::cumulative_traffic(proxy().connections());
    ASSERT_TRUE(while_live.by_target.contains(origin.authority()));
    const auto& bytes = while_live.by_target.at(origin.authority());
    EXPECT_EQ(bytes.upstream_rx, connection->upstream_rx);
    EXPECT_EQ(bytes.client_rx, connection->client_rx);
    EXPECT_EQ(bytes.connections, 1u);
    ASSERT_TRUE(while_live.by_client.contains("127.0.0.1"));
    EXPECT_EQ(while_live.by_client.at("127.0.0.1").client_tx, connection->client_tx);

    live.reset();
    ASSERT_TRUE(wait_for_no_connections());
    const auto after_close = control::cumulative_traffic(proxy().connections());
    ASSERT_TRUE(after_close.by_target.contains(origin.authority()));
    const auto& closed = after_close.by_target.at(origin.authority());
    EXPECT_EQ(closed.upstream_rx, connection->upstream_rx) << "bytes were lost when the connection closed";
    EXPECT_EQ(closed.client_tx, connection->client_tx);
    EXPECT_EQ(closed.connections, 1u);
}

TEST_F(TrafficSamplerTest, OldTrafficLeavesTheWindowButNotTheTotals) {
    constexpr auto window = 500ms;
    control::TrafficSampler sampler(proxy().connections(), 50ms, window);

    download(origin, 100'000);
    auto now = sampler.summary();
    ASSERT_TRUE(now.last_window.by_target.contains(origin.authority()))
        << "traffic since the sampler started is in its first window";
    EXPECT_EQ(now.last_window.by_target.at(origin.authority()).upstream_rx, origin.bytes_written());

    // Once a sample taken after the download is a window old, the download is out of the window.
    ASSERT_TRUE(eventually([&] {
        now = sampler.summary();
        return !now.last_window.by_target.contains(origin.authority());
    })) << "the download never left the window";
    EXPECT_GE(now.window_span, window) << "the baseline is a sample at least a window old";
    ASSERT_TRUE(now.since_start.by_target.contains(origin.authority()));
    EXPECT_EQ(now.since_start.by_target.at(origin.authority()).upstream_rx, origin.bytes_written());

    // New traffic is in the window; only it.
    download(other, 30'000);
    now = sampler.summary();
    ASSERT_TRUE(now.last_window.by_target.contains(other.authority()));
    EXPECT_EQ(now.last_window.by_target.at(other.authority()).upstream_rx, other.bytes_written());
    EXPECT_FALSE(now.last_window.by_target.contains(origin.authority()));
    ASSERT_TRUE(now.last_window.by_client.contains("127.0.0.1"));
    EXPECT_EQ(now.last_window.by_client.at("127.0.0.1").upstream_rx, other.bytes_written())
        << "the client's window holds the new download only";
    EXPECT_EQ(now.since_start.by_client.at("127.0.0.1").upstream_rx, origin.bytes_written() + other.bytes_written());
}

TEST_F(TrafficSamplerTest, DestructionDoesNotWaitForTheNextSample) {
    auto sampler = std::make_unique<control::TrafficSampler>(proxy().connections(), std::chrono::hours(1));
    auto destroyed = std::async(std::launch::async, [&] { sampler.reset(); });
    EXPECT_EQ(destroyed.wait_for(step_timeout), std::future_status::ready)
        << "the sampler's thread slept through its stop";
}

}  // namespace
}  // namespace mproxy::test
