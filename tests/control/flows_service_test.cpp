// FlowsService.WatchFlows over a real gRPC channel, with real curl traffic through the proxy: each
// exchange's events in order with the bytes the client really moved, filters, a resume exactly
// where a client left off, what a slow subscriber missed, and a server shutdown.

#include <gtest/gtest.h>

#include "tests/control/flows_fixture.hpp"

namespace mproxy::test {
namespace {

TEST_F(FlowsServiceTest, WatchSeesAnExchangeInOrderWithTheBytesTheClientMoved) {
    const auto start = proxy().flows().last_sequence();
    auto w = watch_from_now();
    curl_off_t client_sent = 0, client_received = 0;
    {
        CurlTransfer transfer;
        transfer.url(origin.url("/bytes/1000"));
        transfer.via_proxy(proxy_port());
        ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        ASSERT_EQ(transfer.response_code(), 200);
        ASSERT_EQ(transfer.body().bytes, 1000u);
        client_sent = transfer.request_bytes();
        client_received = transfer.header_bytes() + static_cast<curl_off_t>(transfer.body().bytes);
    }  // curl closes its connection here: the proxy then reports connection_closed

    const auto events =
        read_events(w, [](const v1::FlowEvent& e) { return e.has_connection_closed(); });
    ASSERT_EQ(events.size(), 5u) << kinds_of(events);
    EXPECT_TRUE(events[0].has_connection_opened()) << kinds_of(events);
    EXPECT_TRUE(events[1].has_request_head()) << kinds_of(events);
    EXPECT_TRUE(events[2].has_response_head()) << kinds_of(events);
    EXPECT_TRUE(events[3].has_exchange_done()) << kinds_of(events);
    EXPECT_TRUE(events[4].has_connection_closed()) << kinds_of(events);
    for (std::size_t i = 1; i < events.size(); ++i) {
        EXPECT_EQ(events[i].sequence(), events[0].sequence() + i)
            << "nothing else ran: " << kinds_of(events);
        EXPECT_EQ(events[i].connection_id(), events[0].connection_id());
    }
    EXPECT_EQ(events[0].sequence(), start + 1);
    EXPECT_EQ(w.log_id, control().context().log_id);

    const auto& request = events[1];
    EXPECT_EQ(request.request_head().method(), "GET");
    EXPECT_EQ(request.request_head().path(), "/bytes/1000");
    EXPECT_EQ(request.host(), "127.0.0.1");
    EXPECT_EQ(request.port(), origin.port());
    EXPECT_EQ(request.mode(), v1::CONNECTION_MODE_PLAIN);
    EXPECT_NE(request.flow_id(), 0u);
    EXPECT_TRUE(request.client().starts_with("127.0.0.1:")) << request.client();
    EXPECT_EQ(events[0].flow_id(), 0u) << "connection events belong to no exchange";

    EXPECT_EQ(events[2].response_head().status(), 200u);
    EXPECT_EQ(events[2].flow_id(), request.flow_id());

    const auto& done = events[3];
    EXPECT_EQ(done.flow_id(), request.flow_id());
    EXPECT_EQ(done.exchange_done().status(), 200u);
    EXPECT_EQ(done.exchange_done().response_bytes(), static_cast<std::uint64_t>(client_received));
    EXPECT_TRUE(done.exchange_done().error().empty()) << done.exchange_done().error();
    EXPECT_GT(done.exchange_done().request_bytes(), 0u);
    EXPECT_GE(done.time().seconds(), request.time().seconds());

    const auto& closed = events[4].connection_closed();
    EXPECT_EQ(closed.client_tx_bytes(), done.exchange_done().response_bytes())
        << "one exchange on the connection";
    EXPECT_EQ(closed.client_tx_bytes(), static_cast<std::uint64_t>(client_received));
    EXPECT_EQ(closed.client_rx_bytes(), static_cast<std::uint64_t>(client_sent));
    EXPECT_EQ(closed.upstream_tx_bytes(), done.exchange_done().request_bytes());
    EXPECT_GT(closed.upstream_rx_bytes(), 1000u);
    EXPECT_TRUE(closed.error().empty()) << closed.error();
}

TEST_F(FlowsServiceTest, ExpectContinueUploadShowsTheInterimResponseBetweenTheHeads) {
    auto w = watch_from_now();
    upload(64 * 1024, true);
    const auto events =
        read_events(w, [](const v1::FlowEvent& e) { return e.has_exchange_done(); });
    ASSERT_EQ(events.size(), 5u) << kinds_of(events);
    EXPECT_TRUE(events[0].has_connection_opened()) << kinds_of(events);
    ASSERT_TRUE(events[1].has_request_head()) << kinds_of(events);
    EXPECT_EQ(events[1].request_head().method(), "POST");
    EXPECT_EQ(events[1].request_head().path(), "/upload");
    ASSERT_TRUE(events[2].has_interim_response()) << kinds_of(events);
    EXPECT_EQ(events[2].interim_response().status(), 100u);
    ASSERT_TRUE(events[3].has_response_head()) << kinds_of(events);
    EXPECT_EQ(events[3].response_head().status(), 200u);
    EXPECT_GT(events[4].exchange_done().request_bytes(), 64u * 1024);
    for (std::size_t i = 2; i < events.size(); ++i)
        EXPECT_EQ(events[i].flow_id(), events[1].flow_id());
}

TEST_F(FlowsServiceTest, FilterPassesOnlyTheEventsThatMatchEveryCondition) {
    v1::FlowFilter filter;
    filter.set_host_glob("127.0.0.?");
    filter.add_methods("POST");
    filter.set_status_min(200);
    filter.set_status_max(299);
    filter.add_modes(v1::CONNECTION_MODE_PLAIN);
    filter.set_client_cidr("127.0.0.0/8");
    filter.set_min_bytes(5000);
    filter.add_kinds("exchange_done");
    auto w = watch_from_now(filter);

    get("/bytes/8000");   // a GET: the method does not match
    upload(100, false);   // a POST under 5000 bytes
    upload(6000, false);  // passes
    const auto events = read_events(w, [](const v1::FlowEvent&) { return true; });
    ASSERT_EQ(events.size(), 1u);
    ASSERT_TRUE(events[0].has_exchange_done()) << kinds_of(events);
    EXPECT_EQ(events[0].method(), "POST");
    EXPECT_GT(events[0].exchange_done().request_bytes(), 6000u)
        << "the small POST and the GET were skipped";

    // One connection's events only, whatever else runs.
    v1::FlowFilter one_connection;
    one_connection.set_connection_id(events[0].connection_id());
    v1::WatchFlowsRequest replay;
    *replay.mutable_filter() = one_connection;
    replay.set_since_sequence(0);
    auto all = watch(replay);
    const auto items = read_until_caught_up(all);
    ASSERT_FALSE(items.empty());
    for (const auto& item : items)
        EXPECT_EQ(item.event().connection_id(), events[0].connection_id());
}

TEST_F(FlowsServiceTest, InvalidFilterIsRefusedNamingTheField) {
    v1::WatchFlowsRequest request;
    request.mutable_filter()->set_client_cidr("10.0.0.0/40");
    auto w = watch(request);
    v1::WatchFlowsResponse response;
    EXPECT_FALSE(w.reader->Read(&response));
    const auto status = w.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("filter.client_cidr"), std::string::npos)
        << status.error_message();

    v1::ListFlowsRequest list;
    list.mutable_filter()->add_kinds("no_such_kind");
    v1::ListFlowsResponse listed;
    const auto list_status = flows->ListFlows(call().get(), list, &listed);
    EXPECT_EQ(list_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(list_status.error_message().find("filter.kinds[0]"), std::string::npos)
        << list_status.error_message();
}

TEST_F(FlowsServiceTest, ResumedStreamContinuesExactlyAfterTheLastSequenceSeen) {
    const auto start = proxy().flows().last_sequence();
    auto first = watch_from_now();
    get("/bytes/10");
    get("/bytes/20");
    const auto seen =
        read_events(first, [](const v1::FlowEvent& e) { return e.has_response_head(); });
    ASSERT_FALSE(seen.empty());
    first.context->TryCancel();

    get("/bytes/30");
    get("/bytes/40");
    ASSERT_TRUE(wait_for_no_connections()) << "every connection_closed is in the log";

    v1::WatchFlowsRequest resume;
    resume.set_since_sequence(seen.back().sequence());
    resume.set_log_id(first.log_id);
    auto second = watch(resume);
    const auto rest = read_until_caught_up(second);
    ASSERT_FALSE(rest.empty());
    ASSERT_TRUE(rest.front().has_event()) << rest.front().ShortDebugString();
    EXPECT_EQ(rest.front().event().sequence(), seen.back().sequence() + 1);

    v1::WatchFlowsRequest everything;
    everything.set_since_sequence(start);
    auto full = watch(everything);
    const auto reference = read_until_caught_up(full);

    std::vector<std::uint64_t> joined, expected;
    for (const auto& e : seen) joined.push_back(e.sequence());
    for (const auto& item : rest) joined.push_back(item.event().sequence());
    for (const auto& item : reference) {
        ASSERT_TRUE(item.has_event()) << item.ShortDebugString();
        expected.push_back(item.event().sequence());
    }
    EXPECT_EQ(joined, expected) << "no event duplicated or missing across the reconnect";
    ASSERT_EQ(expected.size(), 20u) << "4 connections of one exchange, 5 events each";
    EXPECT_EQ(expected.front(), start + 1);
    EXPECT_EQ(expected.back(), start + 20);
}

TEST_F(FlowsServiceTest, AReplayComesAsOneBatchThatEndsWithCaughtUp) {
    const auto start = proxy().flows().last_sequence();
    for (int i = 0; i < 4; ++i) get("/bytes/10");
    ASSERT_TRUE(wait_for_no_connections()) << "every connection_closed is in the log";
    const auto end = proxy().flows().last_sequence();
    ASSERT_EQ(end - start, 20u) << "4 connections of one exchange, 5 events each";

    v1::WatchFlowsRequest replay;
    replay.set_since_sequence(start);
    auto w = watch(replay);
    v1::WatchFlowsResponse response;
    ASSERT_TRUE(w.reader->Read(&response));
    EXPECT_FALSE(response.has_gap());
    EXPECT_TRUE(response.caught_up()) << "the replay fits one batch, which reaches the live end";
    ASSERT_EQ(response.events_size(), 20);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(response.events(i).sequence(), start + 1 + i);

    // Live events after the replay come in later messages; caught_up is never said again.
    get("/bytes/10");
    std::uint64_t next = end + 1;
    while (next <= end + 5 && w.reader->Read(&response)) {
        EXPECT_FALSE(response.caught_up());
        EXPECT_FALSE(response.has_gap());
        for (const auto& event : response.events()) EXPECT_EQ(event.sequence(), next++);
    }
    EXPECT_EQ(next, end + 6);
}

TEST_F(FlowsServiceTest, ResumeWithAnotherServersLogIdStartsOverWithAGap) {
    get("/bytes/10");
    ASSERT_TRUE(wait_for_no_connections()) << "the connection's events are all in the log";
    auto before = watch_from_now();
    const auto old_log_id = before.log_id;
    ASSERT_FALSE(old_log_id.empty());
    before.context->TryCancel();
    before.reader->Finish();

    restart();
    ASSERT_NE(control().context().log_id, old_log_id);
    get("/bytes/10");
    ASSERT_TRUE(wait_for_no_connections());

    v1::WatchFlowsRequest resume;
    resume.set_since_sequence(1000);
    resume.set_log_id(old_log_id);
    auto w = watch(resume);
    const auto items = read_until_caught_up(w);
    ASSERT_GE(items.size(), 2u);
    ASSERT_TRUE(items[0].has_gap()) << items[0].ShortDebugString();
    EXPECT_TRUE(items[0].gap().server_restarted());
    EXPECT_EQ(items[0].gap().missed(), 0u);
    EXPECT_EQ(items[0].gap().resumed_at(), 1u);
    EXPECT_EQ(w.log_id, control().context().log_id);
    ASSERT_TRUE(items[1].has_event());
    EXPECT_EQ(items[1].event().sequence(), 1u);
    EXPECT_EQ(items.size(), 1 + proxy().flows().last_sequence());
}

TEST_F(FlowsServiceTest, StoppingTheServerEndsAnOpenStream) {
    auto w = watch_from_now();
    EXPECT_EQ(proxy().flows().subscribers.load(), 1u);
    get("/bytes/10");  // events flow while the stream is open
    control().stop();  // returns: the stream does not hold the server up
    Item item;
    while (w.next(item)) {
    }
    const auto status = w.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_NE(status.error_message().find("stopping"), std::string::npos)
        << "ended by the service, not the deadline";
    EXPECT_EQ(proxy().flows().subscribers.load(), 0u) << "the stream unsubscribed";
}

TEST_F(FlowsServiceTest, StreamStillOpenWhenTheFixtureStopsTheServer) {
    left_open_ = watch_from_now();
    get("/bytes/10");
    const auto events =
        read_events(*left_open_, [](const v1::FlowEvent& e) { return e.has_exchange_done(); });
    EXPECT_FALSE(events.empty());
    // TearDown stops the server with this stream open: it must neither hang nor crash.
}

class SmallFlowLogTest : public FlowsServiceTest {
  protected:
    proxy::ProxyConfig config() override {
        auto c = ControlFixture::config();
        c.flow_log_size = 64;
        return c;
    }
};

TEST_F(SmallFlowLogTest, SlowSubscriberIsToldWhatItMissedAndNeverSlowsTheProxy) {
    // A client's HTTP/2 receive window bounds what its transport takes in while the application
    // does not read; a small one (and no BDP probing to grow it) makes 300 requests' events
    // overflow it and the 64-event log, as a subscriber stalled for longer would with any window.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
    const auto stub = v1::FlowsService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(control().port()), grpc::InsecureChannelCredentials(), args));
    auto w = watch_from_now({}, std::chrono::seconds(120), stub.get());
    const auto start = proxy().flows().last_sequence();
    const auto dropped_before = proxy().flows().dropped_to_subscribers.load();

    // The subscriber reads nothing while the proxy serves 300 requests.
    constexpr int requests = 300;
    CurlTransfer transfer;
    transfer.via_proxy(proxy_port());
    transfer.url(origin.url("/bytes/100"));
    for (int i = 0; i < requests; ++i) {
        ASSERT_EQ(transfer.perform(), CURLE_OK) << "request " << i << ": " << transfer.error_text();
        ASSERT_EQ(transfer.response_code(), 200);
    }
    const auto end = proxy().flows().last_sequence();
    ASSERT_GE(end - start, 3u * requests);

    std::uint64_t missed = 0, delivered = 0, gaps = 0, next = start + 1;
    Item item;
    while (next <= end && w.next(item)) {
        if (item.has_gap()) {
            ++gaps;
            EXPECT_FALSE(item.gap().server_restarted());
            EXPECT_EQ(item.gap().resumed_at(), next + item.gap().missed());
            missed += item.gap().missed();
            next += item.gap().missed();
            continue;
        }
        ASSERT_TRUE(item.has_event()) << item.ShortDebugString();
        ASSERT_EQ(item.event().sequence(), next) << "in order, every gap reported";
        ++next;
        ++delivered;
    }
    EXPECT_EQ(next, end + 1) << "the stream went on to the newest events";
    EXPECT_GE(gaps, 1u);
    EXPECT_GT(missed, 0u);
    EXPECT_EQ(missed + delivered, end - start);
    EXPECT_GE(proxy().flows().dropped_to_subscribers.load() - dropped_before, missed);
}

}  // namespace
}  // namespace mproxy::test
