#include "control/flow_translation.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/wire_format_lite.h>

#include "control/enum_translation.hpp"

namespace mproxy::control {

using google::protobuf::util::TimeUtil;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

google::protobuf::Timestamp to_timestamp(std::chrono::system_clock::time_point time) {
    return TimeUtil::MicrosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

std::chrono::system_clock::time_point from_timestamp(const google::protobuf::Timestamp& time) {
    // The clock counts nanoseconds in 64 bits: years 1678 to 2262. A time outside is clamped to
    // the nearest end rather than wrapped around (a "since 2999" would otherwise mean 1800).
    using Clock = std::chrono::system_clock;
    const auto limit = std::chrono::duration_cast<std::chrono::seconds>(
                           Clock::time_point::max().time_since_epoch())
                           .count() - 1;
    if (time.seconds() > limit) return Clock::time_point::max();
    if (time.seconds() < -limit) return Clock::time_point::min();
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::microseconds(TimeUtil::TimestampToMicroseconds(time))));
}

google::protobuf::Duration to_duration(std::chrono::microseconds duration) {
    return TimeUtil::MicrosecondsToDuration(duration.count());
}

void to_exchange_done(const proxy::FlowEvent& event, v1::ExchangeDone& out) {
    out.set_status(event.status);
    out.set_request_bytes(event.request_bytes);
    out.set_response_bytes(event.response_bytes);
    *out.mutable_time_to_first_byte() = to_duration(event.time_to_first_byte);
    *out.mutable_duration() = to_duration(event.duration);
    out.set_error(event.error);
    out.set_answered_by_proxy(event.answered_by_proxy);
}

void to_proto(const proxy::FlowEvent& event, v1::FlowEvent& out) {
    out.set_sequence(event.sequence);
    *out.mutable_time() = to_timestamp(event.time);
    out.set_connection_id(event.connection_id);
    out.set_flow_id(event.flow_id);
    out.set_client(event.client);
    out.set_mode(to_proto(event.mode));
    out.set_host(event.host);
    out.set_port(event.port);
    out.set_method(event.method);
    out.set_path(event.path);

    using Kind = proxy::FlowEventKind;
    switch (event.kind) {
        case Kind::connection_opened: out.mutable_connection_opened(); break;
        case Kind::connection_closed: {
            auto& closed = *out.mutable_connection_closed();
            closed.set_client_rx_bytes(event.client_rx);
            closed.set_client_tx_bytes(event.client_tx);
            closed.set_upstream_rx_bytes(event.upstream_rx);
            closed.set_upstream_tx_bytes(event.upstream_tx);
            closed.set_error(event.error);
            break;
        }
        case Kind::connect_decision: {
            auto& decision = *out.mutable_connect_decision();
            decision.set_rule_id(event.rule_id);
            decision.set_action(to_proto(event.action));
            decision.set_reason(event.reason);
            if (event.action == proxy::ConnectAction::reject) decision.set_reject_status(event.status);
            break;
        }
        case Kind::request_head: {
            auto& head = *out.mutable_request_head();
            head.set_method(event.method);
            head.set_path(event.path);
            break;
        }
        case Kind::interim_response: out.mutable_interim_response()->set_status(event.status); break;
        case Kind::response_head: out.mutable_response_head()->set_status(event.status); break;
        case Kind::exchange_done: to_exchange_done(event, *out.mutable_exchange_done()); break;
        case Kind::tls_failure: {
            auto& failure = *out.mutable_tls_failure();
            failure.set_server_name(event.server_name);
            failure.set_upstream(event.upstream_side);
            failure.set_error(event.error);
            break;
        }
        case Kind::websocket_message: {
            auto& message = *out.mutable_websocket_message();
            message.set_from_client(event.from_client);
            message.set_opcode(event.opcode);
            message.set_length(event.length);
            break;
        }
    }
}

void add_details(const proxy::FlowEvent& event, v1::FlowEvent& out) {
    if (event.fields)
        for (const auto& field : event.fields->all()) {
            auto& f = *out.add_fields();
            f.set_name(field.name);
            f.set_value(field.value);
        }
    if (event.payload) out.set_payload(*event.payload);
}

namespace {
// WatchFlowsResponse's fields, as in flows.proto.
constexpr int log_id_field = 1, gap_field = 3, caught_up_field = 4;

void append_field(int field, WireFormatLite::WireType type, std::string& out) {
    std::uint8_t bytes[5];
    const auto* end = CodedOutputStream::WriteTagToArray(WireFormatLite::MakeTag(field, type), bytes);
    out.append(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(end - bytes));
}

void append_delimited(int field, std::string_view value, std::string& out) {
    append_field(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out);
    std::uint8_t length[10];
    const auto* end = CodedOutputStream::WriteVarint64ToArray(value.size(), length);
    out.append(reinterpret_cast<const char*>(length), static_cast<std::size_t>(end - length));
    out.append(value);
}
}  // namespace

std::string watch_response_head(std::string_view log_id) {
    std::string head;
    if (!log_id.empty()) append_delimited(log_id_field, log_id, head);
    return head;
}

std::string watch_response_trailer(const v1::Gap* gap, bool caught_up) {
    std::string trailer;
    if (gap) append_delimited(gap_field, gap->SerializeAsString(), trailer);
    if (caught_up) {
        append_field(caught_up_field, WireFormatLite::WIRETYPE_VARINT, trailer);
        trailer.push_back(1);
    }
    return trailer;
}

v1::Flow summarize_flow(std::span<const proxy::FlowEvent> events, bool with_events) {
    v1::Flow flow;
    bool started_known = false;
    std::uint32_t interim = 0;
    for (const auto& event : events) {
        // The latest event speaks for the exchange (a 101 upgrade turns the mode to websocket).
        flow.set_flow_id(event.flow_id);
        flow.set_connection_id(event.connection_id);
        flow.set_client(event.client);
        flow.set_mode(to_proto(event.mode));
        if (!event.host.empty()) {
            flow.set_host(event.host);
            flow.set_port(event.port);
        }
        if (!event.method.empty()) {
            flow.set_method(event.method);
            flow.set_path(event.path);
        }
        switch (event.kind) {
            case proxy::FlowEventKind::request_head:
                *flow.mutable_started() = to_timestamp(event.time);
                started_known = true;
                break;
            case proxy::FlowEventKind::interim_response: ++interim; break;
            case proxy::FlowEventKind::exchange_done:
                to_exchange_done(event, *flow.mutable_done());
                if (!started_known) {
                    *flow.mutable_started() = to_timestamp(event.time - event.duration);
                    started_known = true;
                }
                break;
            default: break;
        }
        if (with_events) to_proto(event, *flow.add_events());
    }
    if (!started_known && !events.empty()) *flow.mutable_started() = to_timestamp(events.front().time);
    flow.set_interim_responses(interim);
    return flow;
}

}  // namespace mproxy::control
