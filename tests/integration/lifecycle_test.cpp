// Starting, stopping and timing out: the proxy as a component that mproxyd and the tests run.

#include <gtest/gtest.h>

#include <system_error>
#include <thread>

#include "proxy/flows/flow_id_reservation.hpp"

#include "tests/support/blocking_socket.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::test {
namespace {

using LifecycleTest = ProxyFixture;

TEST_F(LifecycleTest, StartThrowsWhenThePortIsTaken) {
    LoopbackListener taken;
    auto c = default_config();
    c.listen_port = taken.port();
    proxy::ProxyServer second(c);
    EXPECT_THROW(second.start(), std::system_error);
}

// The flow id of the last of `count` exchanges `server` carried, once all are logged (the event
// follows the response to the client); 0 at the deadline.
std::uint64_t last_exchange_id(proxy::ProxyServer& server, std::size_t count,
                               Deadline deadline = step_deadline()) {
    for (;;) {
        const auto done = server.flows().newest(count, 0, [](const proxy::FlowEvent& e) {
            return e.kind == proxy::FlowEventKind::exchange_done;
        });
        if (done.size() == count) return done.front()->event.flow_id;
        if (Clock::now() > deadline) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

TEST_F(LifecycleTest, FlowIdsGoOnAcrossRestartsWithTheSameStateDirectory) {
    TemporaryDirectory state;
    auto c = default_config();
    c.state_dir = state.path().string();
    std::uint64_t before_restart = 0;
    for (int run = 0; run < 3; ++run) {
        start_proxy(c);
        for (int i = 0; i < 2; ++i) {
            auto client = raw_client();
            client.send(absolute_get(origin.authority(), "/say/id"));
            auto reply = client.read_response();
            ASSERT_TRUE(reply.response) << reply.error;
        }
        const auto last = last_exchange_id(proxy(), 2);
        ASSERT_NE(last, 0u);
        // Dense after a clean stop: the first exchange of this run follows the last of the one
        // before.
        EXPECT_EQ(last, before_restart + 2) << "run " << run;
        before_restart = last;
        proxy().stop();
    }
    // A run that ends without stopping (kill -9) leaves its whole block reserved: the next run's
    // ids lie above it, never among the ids it may have handed out.
    {
        proxy::FlowIdReservation crashed(state.path() / "flow-ids");
        EXPECT_EQ(crashed.first(), before_restart + 1);
    }
    start_proxy(c);
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/id"));
    ASSERT_TRUE(client.read_response().response);
    EXPECT_EQ(last_exchange_id(proxy(), 1),
              before_restart + proxy::FlowIdReservation::default_block + 1);
}

TEST_F(LifecycleTest, EndpointIsTheBoundEphemeralPort) {
    EXPECT_NE(proxy_port(), 0);
    EXPECT_TRUE(proxy().endpoint().address().is_loopback());
    auto client = raw_client();
    client.send(absolute_get(origin.authority(), "/say/bound"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "bound");
}

TEST_F(LifecycleTest, StopClosesLiveConnections) {
    RawResponse established;
    auto tunnel = open_connect(origin.authority(), established);
    ASSERT_EQ(established.status, 200);
    auto idle = raw_client();
    idle.send(absolute_get(origin.authority(), "/say/x"));
    ASSERT_TRUE(idle.read_response().response);
    proxy().stop();
    EXPECT_NE(tunnel.wait_closed(), ReadStatus::timeout);
    EXPECT_NE(idle.wait_closed(), ReadStatus::timeout);
    EXPECT_EQ(proxy().connections().live(), 0u);
    proxy().stop();  // idempotent
}

TEST_F(LifecycleTest, ClosedConnectionsLeaveTheRegistry) {
    {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/say/x"));
        ASSERT_TRUE(client.read_response().response);
        ASSERT_TRUE(wait_for_connection([](const auto& c) { return c.exchanges == 1; }));
    }
    EXPECT_TRUE(wait_for_no_connections());
    EXPECT_EQ(proxy().connections().opened_total(), 1u);
}

TEST_F(LifecycleTest, IncompleteRequestHeadIsCutOffAtTheHeaderTimeout) {
    auto c = default_config();
    c.header_timeout = std::chrono::milliseconds(200);
    start_proxy(c);
    auto client = raw_client();
    client.send("GET http://" + origin.authority() +
                "/say/x HTTP/1.1\r\nHost: ");  // and nothing more
    std::string answer;
    const auto end = client.wait_closed(&answer);
    EXPECT_TRUE(end == ReadStatus::eof || end == ReadStatus::reset)
        << "still open: " << to_string(end);
    EXPECT_EQ(origin.requests(), 0u);
}

}  // namespace
}  // namespace mproxy::test
