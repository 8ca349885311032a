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
    }
}

const std::string& encoded_event(const proxy::LoggedFlowEvent& logged) {
    std::call_once(logged.encoded_once, [&] {
        // One scratch message per thread: its fields' buffers are reused from event to event.
        thread_local v1::FlowEvent scratch;
        scratch.Clear();
        to_proto(logged.event, scratch);
        scratch.SerializeToString(&logged.encoded);
    });
    return logged.encoded;
}

namespace {
// WatchFlowsResponse's fields, as in flows.proto.
constexpr int log_id_field = 1, events_field = 2, gap_field = 3, caught_up_field = 4;
constexpr auto length_delimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

std::size_t delimited_size(int field, std::size_t length) {
    return CodedOutputStream::VarintSize32(WireFormatLite::MakeTag(field, length_delimited)) +
           CodedOutputStream::VarintSize64(length) + length;
}

std::uint8_t* write_delimited(int field, std::string_view bytes, std::uint8_t* out) {
    out = CodedOutputStream::WriteTagToArray(WireFormatLite::MakeTag(field, length_delimited), out);
    out = CodedOutputStream::WriteVarint64ToArray(bytes.size(), out);
    return CodedOutputStream::WriteRawToArray(bytes.data(), static_cast<int>(bytes.size()), out);
}
}  // namespace

std::size_t WatchResponseParts::size() const {
    std::size_t total = log_id.empty() ? 0 : delimited_size(log_id_field, log_id.size());
    for (const auto* event : events) total += delimited_size(events_field, event->size());
    if (gap) total += delimited_size(gap_field, gap->size());
    if (caught_up) total += 2;  // tag and a one-byte varint
    return total;
}

std::uint8_t* WatchResponseParts::write(std::uint8_t* out) const {
    if (!log_id.empty()) out = write_delimited(log_id_field, log_id, out);
    for (const auto* event : events) out = write_delimited(events_field, *event, out);
    if (gap) out = write_delimited(gap_field, *gap, out);
    if (caught_up) {
        out = CodedOutputStream::WriteTagToArray(WireFormatLite::MakeTag(caught_up_field, WireFormatLite::WIRETYPE_VARINT), out);
        *out++ = 1;
    }
    return out;
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
