#include "proxy/accounting/traffic_totals.hpp"

#include <gtest/gtest.h>

#include "proxy/accounting/connection_registry.hpp"

namespace mproxy::proxy {
namespace {

TEST(TrafficTotals, FoldsByClientAndByTarget) {
    TrafficTotals totals;
    totals.add("10.0.0.1", "a.example:443", {100, 1000, 900, 90, 1, 2});
    totals.add("10.0.0.1", "b.example:443", {10, 20, 30, 40, 1, 1});
    totals.add("10.0.0.2", "a.example:443", {1, 2, 3, 4, 1, 0});
    const auto clients = totals.by_client();
    EXPECT_EQ(clients.at("10.0.0.1").client_rx, 110u);
    EXPECT_EQ(clients.at("10.0.0.1").connections, 2u);
    EXPECT_EQ(clients.at("10.0.0.2").client_tx, 2u);
    const auto targets = totals.by_target();
    EXPECT_EQ(targets.at("a.example:443").upstream_rx, 903u);
    EXPECT_EQ(targets.at("b.example:443").exchanges, 1u);
    EXPECT_EQ(totals.total().client_tx, 1022u);
}

TEST(TrafficTotals, KeysPastTheCapFoldIntoOther) {
    TrafficTotals totals(2);
    totals.add("10.0.0.1", "", {1, 0, 0, 0, 1, 0});
    totals.add("10.0.0.2", "", {1, 0, 0, 0, 1, 0});
    totals.add("10.0.0.3", "", {5, 0, 0, 0, 1, 0});
    totals.add("10.0.0.4", "", {7, 0, 0, 0, 1, 0});
    totals.add("10.0.0.1", "", {1, 0, 0, 0, 1, 0});  // an existing key still counts as itself
    const auto clients = totals.by_client();
    EXPECT_EQ(clients.size(), 3u);
    EXPECT_EQ(clients.at(std::string(TrafficTotals::other_key)).client_rx, 12u);
    EXPECT_EQ(clients.at("10.0.0.1").client_rx, 2u);
    EXPECT_TRUE(totals.by_target().empty());  // connections without a target are not listed by target
}

TEST(ConnectionRegistry, AClosedConnectionsCountersAreKeptInTheTotals) {
    ConnectionRegistry registry;
    {
        auto record = registry.open("192.0.2.7:5000", "192.0.2.7");
        record->set_target("example.com:443");
        ConnectionCounters::add(record->counters().client_rx, 10);
        ConnectionCounters::add(record->counters().upstream_rx, 20);
        EXPECT_EQ(registry.live(), 1u);
        EXPECT_TRUE(registry.closed_traffic().by_client().empty());
    }
    EXPECT_EQ(registry.live(), 0u);
    EXPECT_EQ(registry.closed_traffic().by_client().at("192.0.2.7").client_rx, 10u);
    EXPECT_EQ(registry.closed_traffic().by_target().at("example.com:443").upstream_rx, 20u);
}

TEST(ConnectionRegistry, CloseCallsTheConnectionsCloserAndSaysWhenThereIsNone) {
    ConnectionRegistry registry;
    int a_closed = 0, b_closed = 0;
    std::uint64_t closed_id = 0;
    auto a = registry.open("192.0.2.1:1", "192.0.2.1", [&](std::uint64_t id) {
        ++a_closed;
        closed_id = id;
    });
    auto b = registry.open("192.0.2.2:2", "192.0.2.2", [&](std::uint64_t) { ++b_closed; });
    EXPECT_TRUE(registry.close(a->id()));
    EXPECT_EQ(a_closed, 1);
    EXPECT_EQ(closed_id, a->id());
    EXPECT_FALSE(registry.close(9999));
    const auto n = registry.close_if([](const ConnectionSnapshot& c) { return c.client_ip == "192.0.2.2"; });
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(b_closed, 1);
    EXPECT_EQ(a_closed, 1);
}

}  // namespace
}  // namespace mproxy::proxy
