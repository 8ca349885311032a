// ServerService over a real channel: identity, listeners and build of the running server, and
// totals that follow real traffic and rule changes.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <thread>

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

class ServerServiceTest : public ControlFixture {
  protected:
    v1::ServerInfo info() {
        v1::ServerInfo out;
        const auto status = server->GetServerInfo(call().get(), {}, &out);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return out;
    }
};

TEST_F(ServerServiceTest, DescribesTheRunningServer) {
    const auto got = info();
    EXPECT_FALSE(got.version().empty());
    EXPECT_EQ(got.build().version(), got.version());
    EXPECT_FALSE(got.build().compiler().empty());
    EXPECT_EQ(got.build().grpc_version(), grpc::Version());
    EXPECT_NE(got.build().openssl_version().find("OpenSSL"), std::string::npos) << got.build().openssl_version();

    std::map<std::string, std::string> listeners;
    for (const auto& l : got.listeners()) listeners[l.name()] = l.address();
    EXPECT_EQ(listeners["proxy"], proxy_authority());
    EXPECT_EQ(listeners["control"], "127.0.0.1:" + std::to_string(control().port()));

    const auto started = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(got.started().seconds()) + std::chrono::nanoseconds(got.started().nanos())));
    EXPECT_EQ(started, proxy().started());
    EXPECT_GE(got.uptime().seconds(), 0);
    EXPECT_GE(got.uptime().nanos(), 0);
    EXPECT_EQ(got.log_id(), control().context().log_id);
    EXPECT_FALSE(got.log_id().empty());
    EXPECT_EQ(got.default_action(), "tunnel");
    EXPECT_EQ(got.threads(), 1u);

    const auto& totals = got.totals();
    EXPECT_EQ(totals.connections_opened(), 0u);
    EXPECT_EQ(totals.connections_live(), 0u);
    EXPECT_EQ(totals.client_rx_bytes(), 0u);
    EXPECT_EQ(totals.rules(), 0u);

    // The fixture's state directory holds a capture store, empty so far.
    ASSERT_TRUE(got.has_capture());
    EXPECT_EQ(got.capture().file(), (state_dir() / "captures.db").string());
    EXPECT_EQ(got.capture().stored(), 0u);
    EXPECT_EQ(got.capture().max_bytes(), proxy().config().capture_max_bytes);
    EXPECT_FALSE(got.capture().disk_full());
}

TEST_F(ServerServiceTest, TotalsFollowTrafficAndRules) {
    const auto before = info().totals();
    {
        CurlTransfer closed;
        closed.url(origin.url("/bytes/60000"));
        closed.via_proxy(proxy_port());
        ASSERT_EQ(closed.perform(), CURLE_OK) << closed.error_text();
    }
    ASSERT_TRUE(wait_for_no_connections());
    CurlTransfer live;
    live.url(origin.url("/bytes/40000"));
    live.via_proxy(proxy_port());
    ASSERT_EQ(live.perform(), CURLE_OK) << live.error_text();

    v1::ServerTotals totals;
    ASSERT_TRUE(eventually([&] {
        totals = info().totals();
        // The proxy counts an exchange once it has relayed the end of the response, which can be
        // a moment after curl has read it: wait for that too.
        return totals.upstream_rx_bytes() == origin.bytes_written() && totals.upstream_tx_bytes() == origin.bytes_read() &&
               totals.exchanges() == before.exchanges() + 2;
    })) << totals.DebugString() << "origin wrote " << origin.bytes_written() << " read " << origin.bytes_read();
    EXPECT_EQ(totals.connections_opened(), before.connections_opened() + 2);
    EXPECT_EQ(totals.connections_live(), 1u);
    EXPECT_EQ(totals.exchanges(), before.exchanges() + 2);
    EXPECT_GE(totals.client_tx_bytes(), before.client_tx_bytes() + 100'000);
    EXPECT_GT(totals.client_rx_bytes(), before.client_rx_bytes());
    EXPECT_GT(totals.flow_events(), before.flow_events()) << "the exchanges published no flow event";
    // Both exchanges were plain proxy requests: kept in the capture store.
    v1::ServerInfo with_captures;
    ASSERT_TRUE(eventually([&] {
        with_captures = info();
        return with_captures.capture().stored() == 2;
    })) << with_captures.capture().DebugString();
    EXPECT_GT(with_captures.capture().bytes(), 0u);
    EXPECT_GT(with_captures.capture().newest_flow_id(), 0u);

    proxy::Rule rule;
    rule.id = "intercept-example";
    rule.match.host_suffixes = {"example.com"};
    rule.action = proxy::ConnectAction::mitm;
    proxy::Rule stored;
    const auto created = control().rules().create(rule, std::nullopt, stored);
    ASSERT_TRUE(created.ok()) << created.error_message();
    const auto with_rule = info().totals();
    EXPECT_EQ(with_rule.rules(), 1u);
    EXPECT_GT(with_rule.rule_generation(), before.rule_generation());
}

TEST_F(ServerServiceTest, RefusesCallsWithoutTheToken) {
    v1::ServerInfo out;
    const auto status = server->GetServerInfo(call("").get(), {}, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(out.version().empty()) << "an unauthenticated call was answered";
}

}  // namespace
}  // namespace mproxy::test
