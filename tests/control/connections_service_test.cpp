// ConnectionsService over a real channel: live connections made by raw clients through the proxy,
// listed with counters that match the bytes on the wire, filtered, and closed one by one or by filter.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "tests/control/control_fixture.hpp"

namespace mproxy::test {
namespace {

std::uint16_t local_port(BlockingSocket& socket) {
    sockaddr_in address{};
    socklen_t size = sizeof address;
    if (getsockname(socket.native(), reinterpret_cast<sockaddr*>(&address), &size) != 0) return 0;
    return ntohs(address.sin_port);
}

// Re-checks `condition` until it holds; false at the deadline.
bool eventually(const std::function<bool()>& condition, Deadline deadline = step_deadline()) {
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

class ConnectionsServiceTest : public ControlFixture {
  protected:
    // A CONNECT tunnel to `authority` (the origin's port, under any name) with one GET inside it,
    // answered; the client stays connected.
    struct Tunnel {
        RawHttpClient client;
        std::string connect, request;
        RawResponse established, reply;
    };
    Tunnel open_tunnel(const std::string& authority, std::size_t download = 1000) {
        Tunnel t{raw_client(), {}, {}, {}, {}};
        t.connect = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
        t.client.send(t.connect);
        auto established = t.client.read_connect_reply();
        EXPECT_TRUE(established.response) << established.error;
        if (!established.response) return t;
        EXPECT_EQ(established.response->status, 200);
        t.established = *established.response;
        t.request = "GET /bytes/" + std::to_string(download) + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
        t.client.send(t.request);
        auto reply = t.client.read_response();
        EXPECT_TRUE(reply.response) << reply.error;
        if (reply.response) t.reply = *reply.response;
        EXPECT_EQ(t.reply.body.size(), download);
        return t;
    }

    // An absolute-form GET on a kept-alive connection (plain mode).
    RawHttpClient open_plain(std::size_t download) {
        auto client = raw_client();
        client.send(absolute_get(origin.authority(), "/bytes/" + std::to_string(download)));
        auto reply = client.read_response();
        EXPECT_TRUE(reply.response) << reply.error;
        if (reply.response) {
            EXPECT_EQ(reply.response->body.size(), download);
        }
        return client;
    }

    grpc::Status list(const v1::ConnectionFilter& filter, v1::ListConnectionsResponse& out) {
        v1::ListConnectionsRequest request;
        *request.mutable_filter() = filter;
        out.Clear();
        return connections->ListConnections(call().get(), request, &out);
    }

    // The ids the filter selects, in the order listed.
    std::vector<std::uint64_t> ids(const v1::ConnectionFilter& filter) {
        v1::ListConnectionsResponse response;
        const auto status = list(filter, response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        std::vector<std::uint64_t> out;
        for (const auto& c : response.connections()) out.push_back(c.id());
        return out;
    }

    // The id of the live connection whose client port is that of `socket`.
    std::uint64_t id_of(BlockingSocket& socket) {
        const auto client = "127.0.0.1:" + std::to_string(local_port(socket));
        const auto found = wait_for_connection([&](const auto& c) { return c.client == client; });
        EXPECT_TRUE(found) << "no live connection from " << client;
        return found ? found->id : 0;
    }

    grpc::Status close_by(const v1::ConnectionFilter& filter, bool all, std::uint64_t& closed) {
        v1::CloseConnectionsRequest request;
        *request.mutable_filter() = filter;
        request.set_all(all);
        v1::CloseConnectionsResponse response;
        const auto status = connections->CloseConnections(call().get(), request, &response);
        closed = response.closed();
        return status;
    }
};

v1::ConnectionFilter by_glob(const std::string& glob) {
    v1::ConnectionFilter filter;
    filter.set_target_glob(glob);
    return filter;
}

v1::ConnectionFilter by_cidr(const std::string& cidr) {
    v1::ConnectionFilter filter;
    filter.set_client_cidr(cidr);
    return filter;
}

v1::ConnectionFilter by_modes(std::initializer_list<v1::ConnectionMode> modes) {
    v1::ConnectionFilter filter;
    for (auto mode : modes) filter.add_modes(mode);
    return filter;
}

TEST_F(ConnectionsServiceTest, ListsAnOpenTunnelWithTheBytesOnTheWire) {
    auto tunnel = open_tunnel(origin.authority(), 3000);
    const auto client = "127.0.0.1:" + std::to_string(local_port(tunnel.client.socket()));
    const auto sent = tunnel.connect.size() + tunnel.request.size();
    const auto received = tunnel.established.wire.size() + tunnel.reply.wire.size();

    // The proxy's counters may trail the client's view by a completion handler: re-read until they
    // agree or the deadline passes.
    v1::Connection seen;
    eventually([&] {
        v1::ListConnectionsResponse response;
        if (!list({}, response).ok() || response.connections_size() != 1) return false;
        seen = response.connections(0);
        return seen.client_rx_bytes() == sent && seen.client_tx_bytes() == received &&
               seen.upstream_rx_bytes() == origin.bytes_written() && seen.upstream_tx_bytes() == origin.bytes_read();
    });

    EXPECT_EQ(seen.client_rx_bytes(), sent);
    EXPECT_EQ(seen.client_tx_bytes(), received);
    EXPECT_EQ(seen.upstream_tx_bytes(), tunnel.request.size()) << "the tunnel relays the request as sent";
    EXPECT_EQ(seen.upstream_rx_bytes(), tunnel.reply.wire.size());
    EXPECT_EQ(seen.upstream_rx_bytes(), origin.bytes_written());
    EXPECT_EQ(seen.target(), origin.authority());
    EXPECT_EQ(seen.mode(), v1::CONNECTION_MODE_TUNNEL);
    EXPECT_EQ(seen.client(), client);

    const auto registry = proxy().connections().snapshot();
    ASSERT_EQ(registry.size(), 1u);
    EXPECT_EQ(seen.id(), registry.front().id);
    const auto started = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(seen.started().seconds()) + std::chrono::nanoseconds(seen.started().nanos())));
    EXPECT_EQ(started, registry.front().started);
    EXPECT_GE(seen.age().seconds(), 0);
    EXPECT_GE(seen.age().nanos(), 0);
}

TEST_F(ConnectionsServiceTest, FiltersByTargetClientModeAndBytes) {
    auto by_address = open_tunnel(origin.authority(), 1000);
    auto by_name = open_tunnel("localhost:" + std::to_string(origin.port()), 1000);
    auto plain = open_plain(200'000);  // by far the most bytes
    const auto address_id = id_of(by_address.client.socket());
    const auto name_id = id_of(by_name.client.socket());
    const auto plain_id = id_of(plain.socket());
    ASSERT_TRUE(address_id && name_id && plain_id);
    ASSERT_TRUE(wait_for_connection([&](const auto& c) { return c.id == plain_id && c.client_tx > 200'000; }));

    std::vector<std::uint64_t> every{address_id, name_id, plain_id};
    std::sort(every.begin(), every.end());
    EXPECT_EQ(ids({}), every) << "an empty filter lists everything, by id";

    EXPECT_EQ(ids(by_glob("local*")), std::vector<std::uint64_t>{name_id});
    EXPECT_EQ(ids(by_glob("LOCALHOST")), std::vector<std::uint64_t>{name_id}) << "host names are case-insensitive";
    EXPECT_EQ(ids(by_glob("127.0.0.?")), (std::vector<std::uint64_t>{address_id, plain_id}));
    EXPECT_TRUE(ids(by_glob("*.example")).empty());
    EXPECT_TRUE(ids(by_glob("127.0.0.1:*")).empty()) << "the glob is on the host, not host:port";

    EXPECT_EQ(ids(by_cidr("127.0.0.0/8")), every);
    EXPECT_EQ(ids(by_cidr("127.0.0.1")), every) << "a bare address is a /32";
    EXPECT_EQ(ids(by_cidr("::ffff:127.0.0.0/104")), every) << "a mapped network is its IPv4 network";
    EXPECT_TRUE(ids(by_cidr("10.0.0.0/8")).empty());
    EXPECT_TRUE(ids(by_cidr("::/0")).empty()) << "an IPv6 network takes in no IPv4 client";

    EXPECT_EQ(ids(by_modes({v1::CONNECTION_MODE_PLAIN})), std::vector<std::uint64_t>{plain_id});
    EXPECT_EQ(ids(by_modes({v1::CONNECTION_MODE_TUNNEL})), (std::vector<std::uint64_t>{address_id, name_id}));
    EXPECT_EQ(ids(by_modes({v1::CONNECTION_MODE_TUNNEL, v1::CONNECTION_MODE_PLAIN})), every);
    EXPECT_TRUE(ids(by_modes({v1::CONNECTION_MODE_MITM})).empty());

    v1::ConnectionFilter heavy;
    heavy.set_min_bytes(200'000);
    EXPECT_EQ(ids(heavy), std::vector<std::uint64_t>{plain_id});

    // Every condition must hold.
    auto both = by_glob("127.0.0.1");
    both.add_modes(v1::CONNECTION_MODE_TUNNEL);
    EXPECT_EQ(ids(both), std::vector<std::uint64_t>{address_id});
}

TEST_F(ConnectionsServiceTest, RejectsFiltersItCannotUnderstand) {
    v1::ListConnectionsResponse response;
    for (const auto& bad : {"10.0.0.0/33", "not-an-address", "10.0.0.0/", "::1/129"}) {
        const auto status = list(by_cidr(bad), response);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
        EXPECT_TRUE(status.error_message().starts_with("filter.client_cidr")) << status.error_message();
    }
    const auto status = list(by_modes({v1::CONNECTION_MODE_UNSPECIFIED}), response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(status.error_message().starts_with("filter.modes[0]")) << status.error_message();
}

TEST_F(ConnectionsServiceTest, CloseConnectionEndsTheTunnel) {
    auto tunnel = open_tunnel(origin.authority());
    auto bystander = open_plain(100);
    const auto id = id_of(tunnel.client.socket());
    const auto bystander_id = id_of(bystander.socket());
    ASSERT_TRUE(id && bystander_id);

    v1::CloseConnectionRequest request;
    request.set_id(id);
    v1::CloseConnectionResponse response;
    const auto status = connections->CloseConnection(call().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();

    const auto ended = tunnel.client.wait_closed();
    EXPECT_TRUE(ended == ReadStatus::eof || ended == ReadStatus::reset) << to_string(ended);
    EXPECT_TRUE(eventually([&] { return proxy().connections().live() == 1; }));
    EXPECT_EQ(ids({}), std::vector<std::uint64_t>{bystander_id}) << "only the chosen connection ends";

    const auto again = connections->CloseConnection(call().get(), request, &response);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND) << "a closed connection is gone";
    request.set_id(987654321);
    EXPECT_EQ(connections->CloseConnection(call().get(), request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);

    // The bystander still works.
    bystander.send(absolute_get(origin.authority(), "/say/still-here"));
    auto reply = bystander.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->body, "still-here");
}

TEST_F(ConnectionsServiceTest, CloseConnectionsClosesWhatTheFilterSelects) {
    auto by_address = open_tunnel(origin.authority());
    auto by_name = open_tunnel("localhost:" + std::to_string(origin.port()));
    auto plain = open_plain(100);
    const auto plain_id = id_of(plain.socket());
    ASSERT_TRUE(id_of(by_address.client.socket()) && id_of(by_name.client.socket()) && plain_id);

    std::uint64_t closed = 99;
    ASSERT_TRUE(close_by(by_cidr("10.0.0.0/8"), false, closed).ok());
    EXPECT_EQ(closed, 0u);
    ASSERT_TRUE(close_by(by_glob("*.example"), false, closed).ok());
    EXPECT_EQ(closed, 0u);
    EXPECT_EQ(proxy().connections().live(), 3u);

    ASSERT_TRUE(close_by(by_modes({v1::CONNECTION_MODE_TUNNEL}), false, closed).ok());
    EXPECT_EQ(closed, 2u);
    for (auto* client : {&by_address.client, &by_name.client}) {
        const auto ended = client->wait_closed();
        EXPECT_TRUE(ended == ReadStatus::eof || ended == ReadStatus::reset) << to_string(ended);
    }
    EXPECT_TRUE(eventually([&] { return proxy().connections().live() == 1; }));
    EXPECT_EQ(ids({}), std::vector<std::uint64_t>{plain_id});

    ASSERT_TRUE(close_by(by_cidr("127.0.0.0/8"), false, closed).ok());
    EXPECT_EQ(closed, 1u);
    const auto ended = plain.wait_closed();
    EXPECT_TRUE(ended == ReadStatus::eof || ended == ReadStatus::reset) << to_string(ended);
    EXPECT_TRUE(wait_for_no_connections());
}

TEST_F(ConnectionsServiceTest, CloseConnectionsNeedsAConditionOrAll) {
    auto first = open_plain(100);
    auto second = open_tunnel(origin.authority());
    ASSERT_TRUE(id_of(first.socket()) && id_of(second.client.socket()));

    std::uint64_t closed = 0;
    const auto refused = close_by({}, false, closed);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(refused.error_message().starts_with("filter")) << refused.error_message();
    EXPECT_EQ(proxy().connections().live(), 2u) << "a refused request closed something";

    const auto bad_cidr = close_by(by_cidr("300.0.0.0/8"), true, closed);
    EXPECT_EQ(bad_cidr.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(bad_cidr.error_message().starts_with("filter.client_cidr")) << bad_cidr.error_message();

    ASSERT_TRUE(close_by({}, true, closed).ok());
    EXPECT_EQ(closed, 2u);
    EXPECT_TRUE(wait_for_no_connections());
}

TEST_F(ConnectionsServiceTest, RefusesCallsWithoutTheToken) {
    auto client = open_plain(100);
    ASSERT_TRUE(id_of(client.socket()));
    v1::CloseConnectionsRequest request;
    request.set_all(true);
    v1::CloseConnectionsResponse response;
    EXPECT_EQ(connections->CloseConnections(call("").get(), request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::ListConnectionsResponse listed;
    EXPECT_EQ(connections->ListConnections(call("wrong-token-0123456789").get(), {}, &listed).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(listed.connections_size(), 0);
    EXPECT_EQ(proxy().connections().live(), 1u) << "an unauthenticated call closed a connection";
}

}  // namespace
}  // namespace mproxy::test
