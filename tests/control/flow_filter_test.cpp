// The compiled FlowFilter: what each condition lets through, and which filters are refused (with
// the field at fault named). Pure values, no sockets; the service tests run it on real traffic.

#include "control/flow_filter.hpp"
#include "proxy/rules/host_glob.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "control/flow_translation.hpp"
#include "control/flow_wire.hpp"

namespace mproxy::control {
namespace {

using proxy::FlowEvent;
using proxy::FlowEventKind;
using proxy::host_glob_matches;

FlowEvent exchange_done(std::string host, std::string method, unsigned status, std::uint64_t request_bytes,
                        std::uint64_t response_bytes) {
    FlowEvent event;
    event.kind = FlowEventKind::exchange_done;
    event.connection_id = 7;
    event.flow_id = (7u << 20) | 1;
    event.client = "10.1.2.3:51000";
    event.mode = proxy::ConnectionMode::plain;
    event.host = std::move(host);
    event.port = 80;
    event.method = std::move(method);
    event.path = "/x";
    event.status = status;
    event.request_bytes = request_bytes;
    event.response_bytes = response_bytes;
    return event;
}

FlowEvent connection_opened(std::string client = "10.1.2.3:51000") {
    FlowEvent event;
    event.kind = FlowEventKind::connection_opened;
    event.connection_id = 7;
    event.client = std::move(client);
    return event;
}

FlowFilter compiled(const v1::FlowFilter& message) {
    FlowFilter filter;
    const auto status = FlowFilter::compile(message, filter);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return filter;
}

// The compile error's message for `message`, which must be refused as INVALID_ARGUMENT.
std::string refusal(const v1::FlowFilter& message) {
    FlowFilter filter;
    const auto status = FlowFilter::compile(message, filter);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    return status.error_message();
}

TEST(FlowFilterTest, EmptyFilterPassesEverything) {
    const auto filter = compiled({});
    EXPECT_TRUE(filter.passes_everything());
    EXPECT_TRUE(filter.passes(connection_opened()));
    EXPECT_TRUE(filter.passes(exchange_done("example.com", "GET", 200, 10, 20)));
}

TEST(FlowFilterTest, AnyConditionMeansNotEverything) {
    std::vector<v1::FlowFilter> filters(9);
    filters[0].set_host_glob("*");
    filters[1].add_methods("GET");
    filters[2].set_status_min(100);
    filters[3].set_status_max(599);
    filters[4].add_modes(v1::CONNECTION_MODE_PLAIN);
    filters[5].set_client_cidr("0.0.0.0/0");
    filters[6].set_connection_id(1);
    filters[7].set_min_bytes(1);
    filters[8].add_kinds("exchange_done");
    for (const auto& message : filters) EXPECT_FALSE(compiled(message).passes_everything()) << message.ShortDebugString();
}

TEST(FlowFilterTest, HostGlobIsCaseInsensitiveAndCrossesDots) {
    v1::FlowFilter message;
    message.set_host_glob("*.Example.COM");
    const auto filter = compiled(message);
    EXPECT_TRUE(filter.passes(exchange_done("api.example.com", "GET", 200, 1, 1)));
    EXPECT_TRUE(filter.passes(exchange_done("a.b.EXAMPLE.com", "GET", 200, 1, 1)));
    EXPECT_FALSE(filter.passes(exchange_done("example.com", "GET", 200, 1, 1)));
    EXPECT_FALSE(filter.passes(exchange_done("example.org", "GET", 200, 1, 1)));

    EXPECT_TRUE(host_glob_matches("a?c", "abc"));
    EXPECT_FALSE(host_glob_matches("a?c", "ac"));
    EXPECT_TRUE(host_glob_matches("*", ""));
    EXPECT_TRUE(host_glob_matches("a*b*c", "axxbyyc"));
    EXPECT_FALSE(host_glob_matches("a*b*c", "axxbyy"));
    EXPECT_TRUE(host_glob_matches("*.*.com", "x.y.com"));
}

TEST(FlowFilterTest, MethodsAreCaseSensitiveAndConnectionEventsHaveNone) {
    v1::FlowFilter message;
    message.add_methods("POST");
    message.add_methods("PUT");
    const auto filter = compiled(message);
    EXPECT_TRUE(filter.passes(exchange_done("h", "PUT", 200, 1, 1)));
    EXPECT_FALSE(filter.passes(exchange_done("h", "GET", 200, 1, 1)));
    EXPECT_FALSE(filter.passes(exchange_done("h", "post", 200, 1, 1)));
    EXPECT_FALSE(filter.passes(connection_opened()));
}

TEST(FlowFilterTest, StatusRangeIsInclusiveAndEachSideMayBeOpen) {
    v1::FlowFilter range;
    range.set_status_min(400);
    range.set_status_max(499);
    const auto client_errors = compiled(range);
    EXPECT_TRUE(client_errors.passes(exchange_done("h", "GET", 400, 1, 1)));
    EXPECT_TRUE(client_errors.passes(exchange_done("h", "GET", 499, 1, 1)));
    EXPECT_FALSE(client_errors.passes(exchange_done("h", "GET", 500, 1, 1)));
    EXPECT_FALSE(client_errors.passes(exchange_done("h", "GET", 200, 1, 1)));
    EXPECT_FALSE(client_errors.passes(exchange_done("h", "GET", 0, 1, 1))) << "no status at all";
    EXPECT_FALSE(client_errors.passes(connection_opened()));

    v1::FlowFilter at_least;
    at_least.set_status_min(500);
    EXPECT_TRUE(compiled(at_least).passes(exchange_done("h", "GET", 503, 1, 1)));
    EXPECT_FALSE(compiled(at_least).passes(exchange_done("h", "GET", 404, 1, 1)));

    v1::FlowFilter at_most;
    at_most.set_status_max(199);
    auto interim = exchange_done("h", "GET", 100, 0, 0);
    interim.kind = FlowEventKind::interim_response;
    EXPECT_TRUE(compiled(at_most).passes(interim));
    EXPECT_FALSE(compiled(at_most).passes(exchange_done("h", "GET", 200, 1, 1)));
}

TEST(FlowFilterTest, ModesClientNetworkAndConnectionId) {
    v1::FlowFilter message;
    message.add_modes(v1::CONNECTION_MODE_MITM);
    message.add_modes(v1::CONNECTION_MODE_PLAIN);
    message.set_client_cidr("10.0.0.0/8");
    message.set_connection_id(7);
    const auto filter = compiled(message);
    auto event = exchange_done("h", "GET", 200, 1, 1);
    EXPECT_TRUE(filter.passes(event));

    auto tunnel = event;
    tunnel.mode = proxy::ConnectionMode::tunnel;
    EXPECT_FALSE(filter.passes(tunnel));

    auto elsewhere = event;
    elsewhere.client = "11.1.2.3:51000";
    EXPECT_FALSE(filter.passes(elsewhere));

    auto other_connection = event;
    other_connection.connection_id = 8;
    EXPECT_FALSE(filter.passes(other_connection));
}

TEST(FlowFilterTest, ClientNetworksOfBothFamilies) {
    v1::FlowFilter narrow;
    narrow.set_client_cidr("192.168.1.128/25");
    EXPECT_TRUE(compiled(narrow).passes(connection_opened("192.168.1.200:1")));
    EXPECT_FALSE(compiled(narrow).passes(connection_opened("192.168.1.127:1")));
    EXPECT_TRUE(compiled(narrow).passes(connection_opened("[::ffff:192.168.1.129]:1"))) << "IPv4-mapped";

    v1::FlowFilter bare;
    bare.set_client_cidr("127.0.0.1");
    EXPECT_TRUE(compiled(bare).passes(connection_opened("127.0.0.1:9")));
    EXPECT_FALSE(compiled(bare).passes(connection_opened("127.0.0.2:9")));

    v1::FlowFilter v6;
    v6.set_client_cidr("fd00::/8");
    EXPECT_TRUE(compiled(v6).passes(connection_opened("[fd12::1]:443")));
    EXPECT_FALSE(compiled(v6).passes(connection_opened("[fe80::1]:443")));
    EXPECT_FALSE(compiled(v6).passes(connection_opened("10.0.0.1:443"))) << "families are kept apart";
}

TEST(FlowFilterTest, MinBytesOnlyPassesEventsCarryingThatMany) {
    v1::FlowFilter message;
    message.set_min_bytes(1000);
    const auto filter = compiled(message);
    EXPECT_TRUE(filter.passes(exchange_done("h", "GET", 200, 100, 900)));
    EXPECT_FALSE(filter.passes(exchange_done("h", "GET", 200, 100, 899)));
    EXPECT_FALSE(filter.passes(connection_opened()));

    FlowEvent closed = connection_opened();
    closed.kind = FlowEventKind::connection_closed;
    closed.client_rx = 200;
    closed.client_tx = 800;
    closed.upstream_rx = 800;
    EXPECT_TRUE(filter.passes(closed));
    closed.client_tx = 799;
    EXPECT_FALSE(filter.passes(closed)) << "upstream bytes are the same payload again, not counted twice";
}

TEST(FlowFilterTest, KindsByTheirOneofNames) {
    v1::FlowFilter message;
    message.add_kinds("exchange_done");
    message.add_kinds("connection_opened");
    const auto filter = compiled(message);
    EXPECT_TRUE(filter.passes(connection_opened()));
    EXPECT_TRUE(filter.passes(exchange_done("h", "GET", 200, 1, 1)));
    auto head = exchange_done("h", "GET", 200, 1, 1);
    head.kind = FlowEventKind::response_head;
    EXPECT_FALSE(filter.passes(head));
}

TEST(FlowFilterTest, RefusalsNameTheField) {
    v1::FlowFilter bad_cidr;
    bad_cidr.set_client_cidr("10.0.0.0/33");
    EXPECT_NE(refusal(bad_cidr).find("filter.client_cidr"), std::string::npos);
    bad_cidr.set_client_cidr("not-an-address");
    EXPECT_NE(refusal(bad_cidr).find("filter.client_cidr"), std::string::npos);
    bad_cidr.set_client_cidr("10.0.0.0/");
    EXPECT_NE(refusal(bad_cidr).find("filter.client_cidr"), std::string::npos);

    v1::FlowFilter inverted;
    inverted.set_status_min(500);
    inverted.set_status_max(400);
    EXPECT_NE(refusal(inverted).find("filter.status_min"), std::string::npos);

    v1::FlowFilter kinds;
    kinds.add_kinds("exchange_done");
    kinds.add_kinds("exchange_finished");
    EXPECT_NE(refusal(kinds).find("filter.kinds[1]"), std::string::npos);

    v1::FlowFilter modes;
    modes.add_modes(v1::CONNECTION_MODE_UNSPECIFIED);
    EXPECT_NE(refusal(modes).find("filter.modes[0]"), std::string::npos);

    v1::FlowFilter methods;
    methods.add_methods("");
    EXPECT_NE(refusal(methods).find("filter.methods[0]"), std::string::npos);
}

TEST(FlowTranslationTest, ExchangeDoneCarriesBytesDurationsAndAStartTime) {
    auto event = exchange_done("example.com", "GET", 200, 120, 1180);
    event.sequence = 42;
    event.time = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    event.duration = std::chrono::microseconds(2'500'000);
    event.time_to_first_byte = std::chrono::microseconds(1500);

    v1::FlowEvent message;
    to_proto(event, message);
    EXPECT_EQ(message.sequence(), 42u);
    EXPECT_EQ(message.time().seconds(), 1'700'000'000);
    ASSERT_TRUE(message.has_exchange_done());
    EXPECT_EQ(message.exchange_done().response_bytes(), 1180u);
    EXPECT_EQ(message.exchange_done().duration().seconds(), 2);
    EXPECT_EQ(message.exchange_done().duration().nanos(), 500'000'000);
    EXPECT_EQ(message.exchange_done().time_to_first_byte().nanos(), 1'500'000);
    EXPECT_EQ(message.mode(), v1::CONNECTION_MODE_PLAIN);

    const auto flow = summarize_flow({&event, 1}, false);
    EXPECT_EQ(flow.started().seconds(), 1'700'000'000 - 3);
    EXPECT_EQ(flow.started().nanos(), 500'000'000);
    EXPECT_EQ(flow.done().status(), 200u);
    EXPECT_EQ(flow.events_size(), 0);
}


// Every kind of event, with fields long enough for multi-byte lengths and large numbers.
std::vector<FlowEvent> one_of_each_kind() {
    std::vector<FlowEvent> events;
    const auto add = [&](FlowEventKind kind) -> FlowEvent& {
        auto& event = events.emplace_back(exchange_done("origin.example.com", "GET", 0, 0, 0));
        event.kind = kind;
        event.sequence = 1'000'000'000'000 + events.size();
        event.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
        return event;
    };
    add(FlowEventKind::connection_opened).flow_id = 0;
    {
        auto& closed = add(FlowEventKind::connection_closed);
        closed.client_rx = 1;
        closed.client_tx = 1ull << 40;
        closed.upstream_rx = 300;
        closed.upstream_tx = 0;
        closed.error = "reset by peer";
    }
    {
        auto& decision = add(FlowEventKind::connect_decision);
        decision.rule_id = "rule-7";
        decision.action = proxy::ConnectAction::reject;
        decision.status = 403;
        decision.reason = "host matched *.example.com";
        decision.mode = proxy::ConnectionMode::rejected;
    }
    {
        auto& decision = add(FlowEventKind::connect_decision);
        decision.action = proxy::ConnectAction::mitm;
        decision.mode = proxy::ConnectionMode::mitm;
    }
    add(FlowEventKind::request_head).path = "/" + std::string(300, 'p') + "?q=1";  // a two-byte length
    add(FlowEventKind::interim_response).status = 100;
    add(FlowEventKind::response_head).status = 200;
    {
        auto& done = add(FlowEventKind::exchange_done);
        done.status = 502;
        done.request_bytes = 120;
        done.response_bytes = 1 << 20;
        done.time_to_first_byte = std::chrono::microseconds(1500);
        done.duration = std::chrono::microseconds(2'500'000);
        done.error = "origin went away";
    }
    {
        auto& failure = add(FlowEventKind::tls_failure);
        failure.server_name = "sni.example.com";
        failure.upstream_side = true;
        failure.error = std::string(200, 'e');
        failure.mode = proxy::ConnectionMode::mitm;
    }
    events.emplace_back().kind = FlowEventKind::connection_opened;  // all defaults: empty strings, zeros
    return events;
}

// Edge values the bench traffic never shows: times before 1970, negative and long durations,
// the largest numbers, ports and statuses at their limits.
std::vector<FlowEvent> edge_values() {
    std::vector<FlowEvent> events;
    auto& before_epoch = events.emplace_back(exchange_done("h", "PUT", 599, ~0ull, ~0ull));
    before_epoch.time = std::chrono::system_clock::time_point(std::chrono::microseconds(-1'500'001));
    before_epoch.time_to_first_byte = std::chrono::microseconds(-2'000'001);
    before_epoch.duration = std::chrono::microseconds(-999);
    before_epoch.sequence = ~0ull;
    before_epoch.connection_id = ~0ull;
    before_epoch.flow_id = 1;
    before_epoch.port = 65535;
    auto& answered = events.emplace_back(exchange_done("h", "OPTIONS", 200, 0, 0));
    answered.answered_by_proxy = true;
    auto& long_duration = events.emplace_back(exchange_done("h", "GET", 200, 0, 0));
    long_duration.duration = std::chrono::hours(24 * 365 * 100);
    long_duration.time_to_first_byte = std::chrono::microseconds(999'999);
    for (const auto mode : {proxy::ConnectionMode::tunnel, proxy::ConnectionMode::http, proxy::ConnectionMode::websocket}) {
        auto& event = events.emplace_back(connection_opened());
        event.mode = mode;
    }
    auto& pre_epoch_whole_second = events.emplace_back(connection_opened());
    pre_epoch_whole_second.time = std::chrono::system_clock::time_point(std::chrono::seconds(-3));
    for (const auto action : {proxy::ConnectAction::tunnel, proxy::ConnectAction::http}) {
        auto& decision = events.emplace_back(connection_opened());
        decision.kind = FlowEventKind::connect_decision;
        decision.action = action;
        decision.status = 403;  // not a reject: no reject_status
    }
    auto& client_side = events.emplace_back(connection_opened());
    client_side.kind = FlowEventKind::tls_failure;
    client_side.upstream_side = false;
    return events;
}

TEST(FlowTranslationTest, DirectEncodingIsWhatSerializingTheTranslationGives) {
    auto events = one_of_each_kind();
    for (auto& event : edge_values()) events.push_back(std::move(event));
    for (const auto& event : events) {
        v1::FlowEvent expected;
        to_proto(event, expected);
        const FlowEventWire wire(event);
        ASSERT_EQ(wire.size(), expected.ByteSizeLong()) << expected.ShortDebugString();
        std::string built(wire.size(), '\0');
        auto* begin = reinterpret_cast<std::uint8_t*>(built.data());
        EXPECT_EQ(wire.write(begin), begin + built.size()) << "write() fills exactly size() bytes";
        EXPECT_EQ(built, expected.SerializeAsString()) << expected.ShortDebugString();

        // As a WatchFlowsResponse's `events` entry: the message with that one event.
        v1::WatchFlowsResponse response;
        *response.add_events() = expected;
        std::string field(wire.field_size(), '\0');
        begin = reinterpret_cast<std::uint8_t*>(field.data());
        EXPECT_EQ(wire.write_field(begin), begin + field.size());
        EXPECT_EQ(field, response.SerializeAsString()) << expected.ShortDebugString();
    }
}

TEST(FlowTranslationTest, HandBuiltWatchResponseIsWhatSerializingTheMessageGives) {
    const auto events = one_of_each_kind();
    v1::Gap gap;
    gap.set_missed(12345);
    gap.set_resumed_at(1'000'000'000'001);
    gap.set_server_restarted(true);

    struct Case {
        std::string log_id;
        std::size_t events;  // the first n of the table
        bool gap, caught_up;
    };
    const Case cases[] = {
        {"0123456789abcdef", events.size(), false, false}, {"0123456789abcdef", events.size(), true, true},
        {"0123456789abcdef", 1, true, false},              {"0123456789abcdef", 0, false, true},
        {"0123456789abcdef", 0, true, false},              {"", 3, false, false},
        {std::string(200, 'l'), 2, false, true},
    };
    for (const auto& c : cases) {
        v1::WatchFlowsResponse expected;
        expected.set_log_id(c.log_id);
        std::string built = watch_response_head(c.log_id);
        for (std::size_t i = 0; i < c.events; ++i) {
            to_proto(events[i], *expected.add_events());
            const FlowEventWire wire(events[i]);
            const auto offset = built.size();
            built.resize(offset + wire.field_size());
            wire.write_field(reinterpret_cast<std::uint8_t*>(built.data() + offset));
        }
        if (c.gap) *expected.mutable_gap() = gap;
        expected.set_caught_up(c.caught_up);
        built += watch_response_trailer(c.gap ? &gap : nullptr, c.caught_up);

        EXPECT_EQ(built, expected.SerializeAsString()) << expected.ShortDebugString();
        v1::WatchFlowsResponse parsed;
        ASSERT_TRUE(parsed.ParseFromString(built));
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, expected))
            << parsed.ShortDebugString() << "\nvs\n" << expected.ShortDebugString();
    }
}

}  // namespace
}  // namespace mproxy::control
