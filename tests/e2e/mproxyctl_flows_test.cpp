// mproxyctl flows ...: a watch that prints curl's traffic as it happens and lives through a restart
// of mproxyd without printing an event twice; listing and showing exchanges; filters.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;

// Waits until the server counts `count` flow subscribers: a watch is listening from then on.
bool wait_for_subscribers(const Mproxyd& server, int count) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
        const auto status =
            json_lines(run_mproxyctl(with_connection({"status", "-o", "json"}, server)).out);
        if (status.size() == 1 &&
            field(status[0], "totals.flowSubscribers") == std::to_string(count))
            return true;
    }
    return false;
}

// The watch printed an exchange_done event for `path`.
auto saw_exchange_done(const std::string& path) {
    return [path](const std::string& out) {
        for (const auto& event : json_lines(out))
            if (field(event, "path") == path && !field(event, "exchangeDone.status").empty())
                return true;
        return false;
    };
}

TEST(MproxyctlFlows, WatchPrintsTheEventsOfCurlTrafficAsTheyHappen) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-flows");
    Mproxyd server(state.path());
    MproxyctlProcess json_watch(with_connection({"flows", "watch", "-o", "json"}, server));
    MproxyctlProcess table_watch(with_connection({"flows", "watch"}, server));
    ASSERT_TRUE(wait_for_subscribers(server, 2)) << json_watch.err() << table_watch.err();

    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/hello")), "200");
    ASSERT_TRUE(json_watch.wait_until(saw_exchange_done("/say/hello")))
        << json_watch.out() << json_watch.err();
    std::set<std::string> kinds;
    for (const auto& event : json_lines(json_watch.out())) {
        for (const auto* kind : {"connectionOpened", "requestHead", "responseHead", "exchangeDone"})
            if (event.fields().contains(kind)) kinds.insert(kind);
        if (event.fields().contains("exchangeDone")) {
            EXPECT_EQ(field(event, "host"), "127.0.0.1");
        }
    }
    EXPECT_EQ(kinds.size(), 4u) << json_watch.out();

    ASSERT_TRUE(table_watch.wait_until([](const std::string& out) {
        return out.find("exchange_done") != std::string::npos &&
               out.find("200 GET /say/hello") != std::string::npos;
    })) << table_watch.out();
    EXPECT_NE(table_watch.out().find("-> 127.0.0.1:" + std::to_string(origin.port())),
              std::string::npos);
}

TEST(MproxyctlFlows, WatchSurvivesARestartOfMproxydWithoutRepeatingOrLosingEvents) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-flows");
    // The same control port after the restart, so the watch finds the server again.
    Mproxyd server(state.path(), "127.0.0.1:" + std::to_string(free_port()));
    MproxyctlProcess watch(with_connection({"flows", "watch", "-o", "json"}, server));
    ASSERT_TRUE(wait_for_subscribers(server, 1)) << watch.err();
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/before")), "200");
    ASSERT_TRUE(watch.wait_until(saw_exchange_done("/say/before"))) << watch.out() << watch.err();

    server.stop();
    ASSERT_TRUE(watch.wait_until([&](const std::string&) {
        return watch.err().find("reconnecting") != std::string::npos;
    })) << watch.err();
    server.start();
    // Traffic at once, before the watch is back: it must be replayed, not lost.
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/after")), "200");
    ASSERT_TRUE(watch.wait_until(saw_exchange_done("/say/after"))) << watch.out() << watch.err();
    EXPECT_FALSE(watch.process().wait(0ms).has_value()) << "the watch is still running";

    // Before the restart gap, and after it, sequences only ever increase.
    const auto lines = json_lines(watch.out());
    int restarts = 0;
    std::uint64_t last = 0;
    for (const auto& line : lines) {
        if (field(line, "gap.serverRestarted") == "true") {
            ++restarts;
            last = 0;
            continue;
        }
        ASSERT_FALSE(field(line, "sequence").empty())
            << "neither an event nor a restart: " << watch.out();
        const auto sequence = std::stoull(field(line, "sequence"));
        EXPECT_GT(sequence, last) << "an event printed twice or out of order:\n" << watch.out();
        last = sequence;
    }
    EXPECT_EQ(restarts, 1) << watch.out();
    EXPECT_NE(watch.err().find("watching again"), std::string::npos) << watch.err();
}

TEST(MproxyctlFlows, ListAndGetShowExchangesWithTheirEvents) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-flows");
    Mproxyd server(state.path());
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/one")), "200");
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/bytes/3000000")), "200");

    const auto listed = run_mproxyctl(with_connection({"flows", "list", "-o", "json"}, server));
    ASSERT_EQ(listed.status, 0) << listed.err;
    const auto flows = json_lines(listed.out);
    ASSERT_EQ(flows.size(), 2u) << listed.out;
    EXPECT_EQ(field(flows[0], "path"), "/bytes/3000000") << "newest first";
    EXPECT_GT(std::stoull(field(flows[0], "done.responseBytes")), 3000000u)
        << "exact bytes in JSON";

    const auto table = run_mproxyctl(
        with_connection({"flows", "list", "--method", "GET", "--status", "2xx"}, server));
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("2.9 MiB"), std::string::npos)
        << "human bytes in tables: " << table.out;
    EXPECT_NE(table.out.find("/say/one"), std::string::npos) << table.out;

    const auto id = field(flows[1], "flowId");
    const auto one = run_mproxyctl(with_connection({"flows", "get", id, "-o", "json"}, server));
    ASSERT_EQ(one.status, 0) << one.err;
    const auto got = json_lines(one.out);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(field(got[0], "path"), "/say/one");
    EXPECT_FALSE(field(got[0], "events").empty());
    const auto shown = run_mproxyctl(with_connection({"flows", "get", id}, server));
    EXPECT_NE(shown.out.find("Events:"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("request_head"), std::string::npos) << shown.out;

    EXPECT_EQ(run_mproxyctl(with_connection({"flows", "get", "999999"}, server)).status, 6);
}

TEST(MproxyctlFlows, FilterFlagsSelectEventsAndBadOnesAreRefused) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-flows");
    Mproxyd server(state.path());
    MproxyctlProcess watch(with_connection(
        {"flows", "watch", "-o", "json", "--kind", "exchange_done", "--status", "404"}, server));
    ASSERT_TRUE(wait_for_subscribers(server, 1)) << watch.err();
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/found")), "200");
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/no/such/route")), "404");
    ASSERT_TRUE(watch.wait_until(saw_exchange_done("/no/such/route")))
        << watch.out() << watch.err();
    for (const auto& event : json_lines(watch.out())) {
        EXPECT_EQ(field(event, "exchangeDone.status"), "404") << watch.out();
        EXPECT_EQ(field(event, "path"), "/no/such/route");
    }

    const auto bad_kind =
        run_mproxyctl(with_connection({"flows", "watch", "--kind", "nonsense"}, server));
    EXPECT_EQ(bad_kind.status, 5) << bad_kind.err;
    EXPECT_NE(bad_kind.err.find("kinds[0]"), std::string::npos) << bad_kind.err;
    EXPECT_EQ(run_mproxyctl(with_connection({"flows", "list", "--status", "abc"}, server)).status,
              2);
}

}  // namespace
}  // namespace mproxy::test
