#include "control/flow_wire.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <chrono>
#include <string>

#include "control/enum_translation.hpp"

namespace mproxy::control {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;
using Kind = proxy::FlowEventKind;

// Field numbers, as in flows.proto.
namespace field {
constexpr int sequence = 1, time = 2, connection_id = 3, flow_id = 4, client = 5, mode = 6,
              host = 7, port = 8, method = 9, path = 10;
constexpr int first_kind = 20;   // connection_opened; the others follow in FlowEventKind's order
constexpr int watch_events = 2;  // WatchFlowsResponse.events
// Timestamp and Duration: seconds, nanos.
constexpr int seconds = 1, nanos = 2;
}  // namespace field

// FlowEventKind's order is the oneof's field order (connection_opened = 20 ... tls_failure = 27,
// websocket_message = 28).
static_assert(static_cast<int>(Kind::tls_failure) - static_cast<int>(Kind::connection_opened) == 7);
static_assert(static_cast<int>(Kind::websocket_message) - static_cast<int>(Kind::connection_opened) ==
              8);
int kind_field(Kind kind) {
    return field::first_kind + static_cast<int>(kind);
}

constexpr auto varint = WireFormatLite::WIRETYPE_VARINT;
constexpr auto delimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

std::size_t tag_size(int number) {
    return CodedOutputStream::VarintSize32(WireFormatLite::MakeTag(number, varint));
}

// Sizes of fields proto3 leaves out when they hold their default.
std::size_t uint_size(int number, std::uint64_t value) {
    return value == 0 ? 0 : tag_size(number) + CodedOutputStream::VarintSize64(value);
}
// int32 and enums: negative values take ten bytes, sign-extended, as protobuf writes them.
std::size_t int32_size(int number, std::int32_t value) {
    return value == 0 ? 0 : tag_size(number) + WireFormatLite::Int32Size(value);
}
std::size_t string_size(int number, const std::string& value) {
    return value.empty()
               ? 0
               : tag_size(number) + CodedOutputStream::VarintSize64(value.size()) + value.size();
}
// A sub-message field, written even when empty (the translation always sets these).
std::size_t message_size(int number, std::size_t length) {
    return tag_size(number) + CodedOutputStream::VarintSize64(length) + length;
}

std::uint8_t* write_uint(int number, std::uint64_t value, std::uint8_t* out) {
    if (value == 0) return out;
    out = CodedOutputStream::WriteTagToArray(WireFormatLite::MakeTag(number, varint), out);
    return CodedOutputStream::WriteVarint64ToArray(value, out);
}
std::uint8_t* write_int32(int number, std::int32_t value, std::uint8_t* out) {
    if (value == 0) return out;
    return WireFormatLite::WriteInt32ToArray(number, value, out);
}
std::uint8_t* write_header(int number, std::size_t length, std::uint8_t* out) {
    out = CodedOutputStream::WriteTagToArray(WireFormatLite::MakeTag(number, delimited), out);
    return CodedOutputStream::WriteVarint64ToArray(length, out);
}
std::uint8_t* write_string(int number, const std::string& value, std::uint8_t* out) {
    if (value.empty()) return out;
    out = write_header(number, value.size(), out);
    return CodedOutputStream::WriteRawToArray(value.data(), static_cast<int>(value.size()), out);
}

// google.protobuf.Timestamp and Duration from microseconds, as TimeUtil makes them: a Timestamp's
// nanos are never negative (seconds round down); a Duration's have the sign of its seconds.
struct SecondsNanos {
    std::int64_t seconds;
    std::int32_t nanos;
};
SecondsNanos duration_parts(std::int64_t micros) {
    return {micros / 1'000'000, static_cast<std::int32_t>(micros % 1'000'000 * 1000)};
}
SecondsNanos timestamp_parts(std::chrono::system_clock::time_point time) {
    auto parts = duration_parts(
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
    if (parts.nanos < 0) {
        parts.seconds -= 1;
        parts.nanos += 1'000'000'000;
    }
    return parts;
}
std::size_t parts_size(SecondsNanos parts) {
    return uint_size(field::seconds, static_cast<std::uint64_t>(parts.seconds)) +
           int32_size(field::nanos, parts.nanos);
}
std::uint8_t* write_parts(int number, std::size_t length, SecondsNanos parts, std::uint8_t* out) {
    out = write_header(number, length, out);
    out = write_uint(field::seconds, static_cast<std::uint64_t>(parts.seconds), out);
    return write_int32(field::nanos, parts.nanos, out);
}

std::int32_t mode_value(const proxy::FlowEvent& event) {
    return to_proto(event.mode);
}
std::int32_t action_value(const proxy::FlowEvent& event) {
    return to_proto(event.action);
}
unsigned reject_status(const proxy::FlowEvent& event) {
    return event.action == proxy::ConnectAction::reject ? event.status : 0;
}

// ExchangeDone's fields: status, request_bytes, response_bytes, time_to_first_byte, duration,
// error, answered_by_proxy. ConnectionClosed's: client_rx, client_tx, upstream_rx, upstream_tx,
// error. And so on, as in the .proto.
std::size_t kind_body_size(const proxy::FlowEvent& e, std::size_t ttfb_size,
                           std::size_t duration_size) {
    switch (e.kind) {
        case Kind::connection_opened:
            return 0;
        case Kind::connection_closed:
            return uint_size(1, e.client_rx) + uint_size(2, e.client_tx) +
                   uint_size(3, e.upstream_rx) + uint_size(4, e.upstream_tx) +
                   string_size(5, e.error);
        case Kind::connect_decision:
            return string_size(1, e.rule_id) + int32_size(2, action_value(e)) +
                   string_size(3, e.reason) + uint_size(4, reject_status(e));
        case Kind::request_head:
            return string_size(1, e.method) + string_size(2, e.path);
        case Kind::interim_response:
        case Kind::response_head:
            return uint_size(1, e.status);
        case Kind::exchange_done:
            return uint_size(1, e.status) + uint_size(2, e.request_bytes) +
                   uint_size(3, e.response_bytes) + message_size(4, ttfb_size) +
                   message_size(5, duration_size) + string_size(6, e.error) +
                   (e.answered_by_proxy ? tag_size(7) + 1 : 0);
        case Kind::tls_failure:
            return string_size(1, e.server_name) + (e.upstream_side ? tag_size(2) + 1 : 0) +
                   string_size(3, e.error);
        case Kind::websocket_message:
            return (e.from_client ? tag_size(1) + 1 : 0) + uint_size(2, e.opcode) +
                   uint_size(3, e.length);
    }
    return 0;
}

}  // namespace

FlowEventWire::FlowEventWire(const proxy::FlowEvent& event) : event_(event) {
    const auto& e = event_;
    time_size_ = parts_size(timestamp_parts(e.time));
    if (e.kind == Kind::exchange_done) {
        ttfb_size_ = parts_size(duration_parts(e.time_to_first_byte.count()));
        duration_size_ = parts_size(duration_parts(e.duration.count()));
    }
    kind_size_ = kind_body_size(e, ttfb_size_, duration_size_);
    sequence_size_ = uint_size(field::sequence, e.sequence);
    size_ = sequence_size_ + message_size(field::time, time_size_) +
            uint_size(field::connection_id, e.connection_id) +
            uint_size(field::flow_id, e.flow_id) + string_size(field::client, e.client) +
            int32_size(field::mode, mode_value(e)) + string_size(field::host, e.host) +
            uint_size(field::port, e.port) + string_size(field::method, e.method) +
            string_size(field::path, e.path) + message_size(kind_field(e.kind), kind_size_);
}

std::size_t FlowEventWire::field_size() const {
    return message_size(field::watch_events, size_);
}

std::uint8_t* FlowEventWire::write_field(std::uint8_t* out) const {
    return write(write_header(field::watch_events, size_, out));
}

std::uint8_t* FlowEventWire::write(std::uint8_t* out) const {
    return write_rest(write_uint(field::sequence, event_.sequence, out));
}

void FlowEventWire::prepare(const proxy::FlowEvent& event, std::string& out) {
    const FlowEventWire wire(event);
    const auto offset = out.size();
    out.resize(offset + wire.rest_size());
    wire.write_rest(reinterpret_cast<std::uint8_t*>(out.data() + offset));
}

std::size_t FlowEventWire::field_size(std::uint64_t sequence, std::string_view rest) {
    return message_size(field::watch_events, uint_size(field::sequence, sequence) + rest.size());
}

std::uint8_t* FlowEventWire::write_field(std::uint64_t sequence, std::string_view rest,
                                         std::uint8_t* out) {
    out =
        write_header(field::watch_events, uint_size(field::sequence, sequence) + rest.size(), out);
    out = write_uint(field::sequence, sequence, out);
    return CodedOutputStream::WriteRawToArray(rest.data(), static_cast<int>(rest.size()), out);
}

std::uint8_t* FlowEventWire::write_rest(std::uint8_t* out) const {
    const auto& e = event_;
    out = write_parts(field::time, time_size_, timestamp_parts(e.time), out);
    out = write_uint(field::connection_id, e.connection_id, out);
    out = write_uint(field::flow_id, e.flow_id, out);
    out = write_string(field::client, e.client, out);
    out = write_int32(field::mode, mode_value(e), out);
    out = write_string(field::host, e.host, out);
    out = write_uint(field::port, e.port, out);
    out = write_string(field::method, e.method, out);
    out = write_string(field::path, e.path, out);
    out = write_header(kind_field(e.kind), kind_size_, out);
    switch (e.kind) {
        case Kind::connection_opened:
            break;
        case Kind::connection_closed:
            out = write_uint(1, e.client_rx, out);
            out = write_uint(2, e.client_tx, out);
            out = write_uint(3, e.upstream_rx, out);
            out = write_uint(4, e.upstream_tx, out);
            out = write_string(5, e.error, out);
            break;
        case Kind::connect_decision:
            out = write_string(1, e.rule_id, out);
            out = write_int32(2, action_value(e), out);
            out = write_string(3, e.reason, out);
            out = write_uint(4, reject_status(e), out);
            break;
        case Kind::request_head:
            out = write_string(1, e.method, out);
            out = write_string(2, e.path, out);
            break;
        case Kind::interim_response:
        case Kind::response_head:
            out = write_uint(1, e.status, out);
            break;
        case Kind::exchange_done:
            out = write_uint(1, e.status, out);
            out = write_uint(2, e.request_bytes, out);
            out = write_uint(3, e.response_bytes, out);
            out = write_parts(4, ttfb_size_, duration_parts(e.time_to_first_byte.count()), out);
            out = write_parts(5, duration_size_, duration_parts(e.duration.count()), out);
            out = write_string(6, e.error, out);
            if (e.answered_by_proxy) out = WireFormatLite::WriteBoolToArray(7, true, out);
            break;
        case Kind::tls_failure:
            out = write_string(1, e.server_name, out);
            if (e.upstream_side) out = WireFormatLite::WriteBoolToArray(2, true, out);
            out = write_string(3, e.error, out);
            break;
        case Kind::websocket_message:
            if (e.from_client) out = WireFormatLite::WriteBoolToArray(1, true, out);
            out = write_uint(2, e.opcode, out);
            out = write_uint(3, e.length, out);
            break;
    }
    return out;
}

}  // namespace mproxy::control
