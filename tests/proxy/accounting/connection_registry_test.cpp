// The registry's per-mode totals (monotonic across mode changes and closes) and its list of
// recently closed connections (grace period and limit).

#include "proxy/accounting/connection_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace mproxy::proxy {
namespace {

const ModeTotals& of(const ModeTotalsByMode& totals, ConnectionMode mode) {
    return totals[static_cast<std::size_t>(mode)];
}

TEST(ConnectionRegistryModes, BytesCountInTheModeTheyPassedInAndNeverGoBack) {
    ConnectionRegistry registry;
    auto record = registry.open("192.0.2.7:5000", "192.0.2.7");
    ConnectionCounters::add(record->counters().client_rx, 100);  // the CONNECT request
    ConnectionCounters::add(record->counters().client_tx, 39);   // its 200
    record->set_mode(ConnectionMode::tunnel);
    ConnectionCounters::add(record->counters().client_rx, 5000);
    ConnectionCounters::add(record->counters().upstream_tx, 5000);

    auto totals = registry.mode_totals();
    EXPECT_EQ(of(totals, ConnectionMode::plain).bytes[0], 100u);
    EXPECT_EQ(of(totals, ConnectionMode::plain).bytes[1], 39u);
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).bytes[0], 5000u);
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).bytes[3], 5000u);
    EXPECT_EQ(of(totals, ConnectionMode::plain).entered, 1u);
    EXPECT_EQ(of(totals, ConnectionMode::plain).left, 1u);
    EXPECT_EQ(of(totals, ConnectionMode::plain).active, 0u);
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).active, 1u);

    record->set_mode(ConnectionMode::tunnel);  // no change: nothing moves
    EXPECT_EQ(of(registry.mode_totals(), ConnectionMode::tunnel).entered, 1u);

    record.reset();  // closed: its bytes stay where they were counted
    totals = registry.mode_totals();
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).bytes[0], 5000u);
    EXPECT_EQ(of(totals, ConnectionMode::plain).bytes[0], 100u);
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).active, 0u);
    EXPECT_EQ(of(totals, ConnectionMode::tunnel).left, 1u);
}

TEST(ConnectionRegistryRecentlyClosed,
     AClosedConnectionIsListedWithItsFinalCountersForTheGracePeriod) {
    ConnectionRegistry registry(RecentlyClosedPolicy{std::chrono::milliseconds(200), 100});
    {
        auto record = registry.open("192.0.2.7:5000", "192.0.2.7");
        record->set_target("example.com:443");
        ConnectionCounters::add(record->counters().upstream_rx, 77);
        EXPECT_TRUE(registry.recently_closed().empty());
    }
    auto closed = registry.recently_closed();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_TRUE(closed[0].closed);
    EXPECT_EQ(closed[0].upstream_rx, 77u);
    EXPECT_EQ(closed[0].target, "example.com:443");
    EXPECT_TRUE(registry.snapshot().empty());
    // The only wait in these tests is the grace period itself, with room to spare.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_TRUE(registry.recently_closed().empty());
}

TEST(ConnectionRegistryRecentlyClosed, TheListIsBoundedOldestOut) {
    ConnectionRegistry registry(RecentlyClosedPolicy{std::chrono::hours(1), 3});
    for (int i = 0; i < 5; ++i)
        registry.open("192.0.2.1:1", "192.0.2.1");  // opened and closed at once
    const auto closed = registry.recently_closed();
    ASSERT_EQ(closed.size(), 3u);
    EXPECT_EQ(closed[0].id, 3u);
    EXPECT_EQ(closed[2].id, 5u);
}

TEST(ConnectionRegistryRecentlyClosed, NoGraceKeepsNothing) {
    ConnectionRegistry registry(RecentlyClosedPolicy{std::chrono::milliseconds(0), 100});
    registry.open("192.0.2.1:1", "192.0.2.1");
    EXPECT_TRUE(registry.recently_closed().empty());
}

}  // namespace
}  // namespace mproxy::proxy
