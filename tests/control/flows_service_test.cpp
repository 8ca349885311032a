// FlowsService over a real gRPC channel, with real curl traffic through the proxy: WatchFlows sees
// each exchange's events in order with the bytes the client really moved, resumes exactly where a
// client left off, reports what a slow subscriber missed, and survives a server shutdown; ListFlows
// pages newest first; GetFlow gathers one exchange's events.

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <optional>

#include "tests/control/control_fixture.hpp"
#include "tests/support/curl_transfer.hpp"

namespace mproxy::test {
namespace {

using Reader = grpc::ClientReader<v1::WatchFlowsResponse>;

// One thing a stream said, in the order the messages say it: each WatchFlowsResponse (a batch) is
// a Gap when present, then its events, then caught_up when set.
class Item {
  public:
    static Item of_gap(const v1::Gap& gap) {
        Item item;
        item.gap_ = gap;
        return item;
    }
    static Item of_event(const v1::FlowEvent& event) {
        Item item;
        item.event_ = event;
        return item;
    }
    static Item of_caught_up() {
        Item item;
        item.caught_up_ = true;
        return item;
    }

    bool has_gap() const { return gap_.has_value(); }
    bool has_event() const { return event_.has_value(); }
    bool caught_up() const { return caught_up_; }
    const v1::Gap& gap() const { return gap_.value(); }
    const v1::FlowEvent& event() const { return event_.value(); }
    std::string ShortDebugString() const {
        if (gap_) return "gap { " + gap_->ShortDebugString() + " }";
        if (event_) return "event { " + event_->ShortDebugString() + " }";
        return "caught_up";
    }

  private:
    std::optional<v1::Gap> gap_;
    std::optional<v1::FlowEvent> event_;
    bool caught_up_ = false;
};

struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Reader> reader;
    std::string log_id;  // from the messages read so far
    std::deque<Item> pending;  // the rest of the last message read
    std::size_t messages = 0, events = 0;

    // The next item, reading a message when the last one is used up; false when the stream ended.
    bool next(Item& item) {
        v1::WatchFlowsResponse response;
        while (pending.empty()) {
            if (!reader->Read(&response)) return false;
            ++messages;
            EXPECT_FALSE(response.log_id().empty()) << "every message names the log";
            if (!log_id.empty()) {
                EXPECT_EQ(response.log_id(), log_id) << "the same on every message";
            }
            log_id = response.log_id();
            EXPECT_TRUE(response.has_gap() || response.events_size() > 0 || response.caught_up())
                << "an empty message: " << response.ShortDebugString();
            if (response.has_gap()) pending.push_back(Item::of_gap(response.gap()));
            for (const auto& event : response.events()) pending.push_back(Item::of_event(event));
            events += response.events_size();
            if (response.caught_up()) pending.push_back(Item::of_caught_up());
        }
        item = std::move(pending.front());
        pending.pop_front();
        return true;
    }
};

std::string kind_of(const v1::FlowEvent& event) {
    const auto* field = event.GetDescriptor()->FindOneofByName("kind");
    const auto* set = event.GetReflection()->GetOneofFieldDescriptor(event, field);
    return set ? set->name() : "none";
}

std::string kinds_of(const std::vector<v1::FlowEvent>& events) {
    std::string out;
    for (const auto& event : events) out += std::to_string(event.sequence()) + ":" + kind_of(event) + " ";
    return out;
}

class FlowsServiceTest : public ControlFixture {
  protected:
    Watch watch(const v1::WatchFlowsRequest& request, std::string_view token = test_token,
                std::chrono::seconds limit = std::chrono::seconds(20), v1::FlowsService::Stub* stub = nullptr) {
        Watch w;
        w.context = call(token);
        w.context->set_deadline(std::chrono::system_clock::now() + limit);
        w.reader = (stub ? stub : flows.get())->WatchFlows(w.context.get(), request);
        return w;
    }

    // A watch from the current end of the log, returned once the server said caught_up: whatever
    // traffic the test makes next is certain to be seen.
    Watch watch_from_now(const v1::FlowFilter& filter = {}, std::chrono::seconds limit = std::chrono::seconds(20),
                         v1::FlowsService::Stub* stub = nullptr) {
        v1::WatchFlowsRequest request;
        *request.mutable_filter() = filter;
        request.set_since_sequence(proxy().flows().last_sequence());
        auto w = watch(request, test_token, limit, stub);
        Item item;
        while (w.next(item)) {
            if (item.caught_up()) return w;
            ADD_FAILURE() << "before caught_up: " << item.ShortDebugString();
        }
        ADD_FAILURE() << "the watch ended before it caught up: " << w.reader->Finish().error_message();
        return w;
    }

    // Reads until an event for which `last` holds (included); a Gap fails the test. Stops early when
    // the stream ends (its deadline), which the caller's assertions then show.
    static std::vector<v1::FlowEvent> read_events(Watch& w, const std::function<bool(const v1::FlowEvent&)>& last) {
        std::vector<v1::FlowEvent> events;
        Item item;
        while (w.next(item)) {
            if (item.has_gap()) ADD_FAILURE() << "unexpected gap: " << item.ShortDebugString();
            if (!item.has_event()) continue;
            events.push_back(item.event());
            if (last(events.back())) return events;
        }
        ADD_FAILURE() << "the stream ended after " << kinds_of(events);
        return events;
    }

    // Reads until caught_up, every event and gap in order.
    static std::vector<Item> read_until_caught_up(Watch& w) {
        std::vector<Item> items;
        Item item;
        while (w.next(item)) {
            if (item.caught_up()) return items;
            items.push_back(std::move(item));
        }
        ADD_FAILURE() << "the stream ended before caught_up: " << w.reader->Finish().error_message();
        return items;
    }

    // GET through the proxy on a fresh connection, closed before returning.
    void get(const std::string& path) {
        CurlTransfer transfer;
        transfer.url(origin.url(path));
        transfer.via_proxy(proxy_port());
        ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        ASSERT_EQ(transfer.response_code(), 200);
    }

    void upload(std::uint64_t size, bool expect_continue) {
        CurlTransfer post;
        post.url(origin.url("/upload"));
        post.via_proxy(proxy_port());
        post.upload(size, UploadFraming::content_length);
        post.expect_continue(expect_continue);
        ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
        ASSERT_EQ(post.response_code(), 200);
        if (expect_continue) {
            ASSERT_EQ(post.statuses(), (std::vector<int>{100, 200}));
        }
    }

    std::optional<Watch> left_open_;  // a stream still open when TearDown stops the server
};

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

    const auto events = read_events(w, [](const v1::FlowEvent& e) { return e.has_connection_closed(); });
    ASSERT_EQ(events.size(), 5u) << kinds_of(events);
    EXPECT_TRUE(events[0].has_connection_opened()) << kinds_of(events);
    EXPECT_TRUE(events[1].has_request_head()) << kinds_of(events);
    EXPECT_TRUE(events[2].has_response_head()) << kinds_of(events);
    EXPECT_TRUE(events[3].has_exchange_done()) << kinds_of(events);
    EXPECT_TRUE(events[4].has_connection_closed()) << kinds_of(events);
    for (std::size_t i = 1; i < events.size(); ++i) {
        EXPECT_EQ(events[i].sequence(), events[0].sequence() + i) << "nothing else ran: " << kinds_of(events);
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
    EXPECT_EQ(closed.client_tx_bytes(), done.exchange_done().response_bytes()) << "one exchange on the connection";
    EXPECT_EQ(closed.client_tx_bytes(), static_cast<std::uint64_t>(client_received));
    EXPECT_EQ(closed.client_rx_bytes(), static_cast<std::uint64_t>(client_sent));
    EXPECT_EQ(closed.upstream_tx_bytes(), done.exchange_done().request_bytes());
    EXPECT_GT(closed.upstream_rx_bytes(), 1000u);
    EXPECT_TRUE(closed.error().empty()) << closed.error();
}

TEST_F(FlowsServiceTest, ExpectContinueUploadShowsTheInterimResponseBetweenTheHeads) {
    auto w = watch_from_now();
    upload(64 * 1024, true);
    const auto events = read_events(w, [](const v1::FlowEvent& e) { return e.has_exchange_done(); });
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
    for (std::size_t i = 2; i < events.size(); ++i) EXPECT_EQ(events[i].flow_id(), events[1].flow_id());
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
    EXPECT_GT(events[0].exchange_done().request_bytes(), 6000u) << "the small POST and the GET were skipped";

    // One connection's events only, whatever else runs.
    v1::FlowFilter one_connection;
    one_connection.set_connection_id(events[0].connection_id());
    v1::WatchFlowsRequest replay;
    *replay.mutable_filter() = one_connection;
    replay.set_since_sequence(0);
    auto all = watch(replay);
    const auto items = read_until_caught_up(all);
    ASSERT_FALSE(items.empty());
    for (const auto& item : items) EXPECT_EQ(item.event().connection_id(), events[0].connection_id());
}

TEST_F(FlowsServiceTest, InvalidFilterIsRefusedNamingTheField) {
    v1::WatchFlowsRequest request;
    request.mutable_filter()->set_client_cidr("10.0.0.0/40");
    auto w = watch(request);
    v1::WatchFlowsResponse response;
    EXPECT_FALSE(w.reader->Read(&response));
    const auto status = w.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("filter.client_cidr"), std::string::npos) << status.error_message();

    v1::ListFlowsRequest list;
    list.mutable_filter()->add_kinds("no_such_kind");
    v1::ListFlowsResponse listed;
    const auto list_status = flows->ListFlows(call().get(), list, &listed);
    EXPECT_EQ(list_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(list_status.error_message().find("filter.kinds[0]"), std::string::npos) << list_status.error_message();
}

TEST_F(FlowsServiceTest, ResumedStreamContinuesExactlyAfterTheLastSequenceSeen) {
    const auto start = proxy().flows().last_sequence();
    auto first = watch_from_now();
    get("/bytes/10");
    get("/bytes/20");
    const auto seen = read_events(first, [](const v1::FlowEvent& e) { return e.has_response_head(); });
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

TEST_F(FlowsServiceTest, ListFlowsPagesNewestFirst) {
    {
        CurlTransfer transfer;  // one keep-alive connection, five exchanges
        transfer.via_proxy(proxy_port());
        for (int n = 1; n <= 5; ++n) {
            transfer.url(origin.url("/bytes/" + std::to_string(n)));
            ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        }
    }
    ASSERT_TRUE(wait_for_no_connections()) << "every exchange_done is in the log";
    std::vector<std::string> paths;
    std::string token;
    int pages = 0;
    do {
        v1::ListFlowsRequest request;
        request.set_page_size(2);
        request.set_page_token(token);
        v1::ListFlowsResponse response;
        const auto status = flows->ListFlows(call().get(), request, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(response.log_id(), control().context().log_id);
        EXPECT_LE(response.flows_size(), 2);
        for (const auto& flow : response.flows()) {
            paths.push_back(flow.path());
            EXPECT_EQ(flow.method(), "GET");
            EXPECT_EQ(flow.host(), "127.0.0.1");
            EXPECT_EQ(flow.port(), origin.port());
            EXPECT_EQ(flow.mode(), v1::CONNECTION_MODE_PLAIN);
            EXPECT_EQ(flow.done().status(), 200u);
            EXPECT_NE(flow.flow_id(), 0u);
            EXPECT_GT(flow.started().seconds(), 0);
            EXPECT_EQ(flow.events_size(), 0) << "events are GetFlow's";
        }
        token = response.next_page_token();
        ASSERT_LT(++pages, 10);
    } while (!token.empty());
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(paths, (std::vector<std::string>{"/bytes/5", "/bytes/4", "/bytes/3", "/bytes/2", "/bytes/1"}));

    v1::ListFlowsRequest filtered;
    filtered.mutable_filter()->set_host_glob("*.example.com");
    v1::ListFlowsResponse none;
    ASSERT_TRUE(flows->ListFlows(call().get(), filtered, &none).ok());
    EXPECT_EQ(none.flows_size(), 0);

    v1::ListFlowsRequest bad_token;
    bad_token.set_page_token("twelve");
    v1::ListFlowsResponse ignored;
    const auto status = flows->ListFlows(call().get(), bad_token, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("page_token"), std::string::npos) << status.error_message();
}

TEST_F(FlowsServiceTest, GetFlowGathersTheEventsOfOneExchange) {
    upload(32 * 1024, true);
    ASSERT_TRUE(wait_for_no_connections()) << "every event of the exchange is in the log";
    v1::ListFlowsRequest request;
    request.mutable_filter()->add_methods("POST");
    v1::ListFlowsResponse listed;
    ASSERT_TRUE(flows->ListFlows(call().get(), request, &listed).ok());
    ASSERT_EQ(listed.flows_size(), 1);

    v1::GetFlowRequest get_request;
    get_request.set_flow_id(listed.flows(0).flow_id());
    v1::Flow flow;
    const auto status = flows->GetFlow(call().get(), get_request, &flow);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(flow.flow_id(), get_request.flow_id());
    EXPECT_EQ(flow.method(), "POST");
    EXPECT_EQ(flow.path(), "/upload");
    EXPECT_EQ(flow.host(), "127.0.0.1");
    EXPECT_EQ(flow.interim_responses(), 1u);
    EXPECT_EQ(flow.done().status(), 200u);
    EXPECT_GT(flow.done().request_bytes(), 32u * 1024);
    EXPECT_EQ(flow.done().response_bytes(), listed.flows(0).done().response_bytes());
    ASSERT_EQ(flow.events_size(), 4);
    EXPECT_TRUE(flow.events(0).has_request_head());
    EXPECT_TRUE(flow.events(1).has_interim_response());
    EXPECT_TRUE(flow.events(2).has_response_head());
    EXPECT_TRUE(flow.events(3).has_exchange_done());
    EXPECT_LT(flow.events(0).sequence(), flow.events(3).sequence());
    EXPECT_EQ(flow.started().seconds(), flow.events(0).time().seconds());
    EXPECT_EQ(flow.started().nanos(), flow.events(0).time().nanos());

    v1::GetFlowRequest unknown;
    unknown.set_flow_id(flow.flow_id() + 1000);
    v1::Flow none;
    EXPECT_EQ(flows->GetFlow(call().get(), unknown, &none).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(FlowsServiceTest, EveryCallNeedsTheToken) {
    v1::WatchFlowsRequest request;
    auto w = watch(request, "");
    v1::WatchFlowsResponse response;
    EXPECT_FALSE(w.reader->Read(&response));
    EXPECT_EQ(w.reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);

    v1::ListFlowsResponse listed;
    EXPECT_EQ(flows->ListFlows(call("").get(), {}, &listed).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::Flow flow;
    EXPECT_EQ(flows->GetFlow(call("wrong-token-0123456789").get(), {}, &flow).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(proxy().flows().subscribers.load(), 0u);
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
    EXPECT_NE(status.error_message().find("stopping"), std::string::npos) << "ended by the service, not the deadline";
    EXPECT_EQ(proxy().flows().subscribers.load(), 0u) << "the stream unsubscribed";
}

TEST_F(FlowsServiceTest, StreamStillOpenWhenTheFixtureStopsTheServer) {
    left_open_ = watch_from_now();
    get("/bytes/10");
    const auto events = read_events(*left_open_, [](const v1::FlowEvent& e) { return e.has_exchange_done(); });
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
    // does not read; a small one (and no BDP probing to grow it) makes 300 requests' events overflow
    // it and the 64-event log, as a subscriber stalled for longer would with any window.
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
