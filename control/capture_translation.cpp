#include "control/capture_translation.hpp"

#include <google/protobuf/repeated_field.h>

#include "control/enum_translation.hpp"
#include "control/flow_translation.hpp"

namespace mproxy::control {

namespace {

void add_fields(const proxy::HeaderFields& fields,
                google::protobuf::RepeatedPtrField<v1::HttpField>& out) {
    out.Reserve(static_cast<int>(fields.all().size()));
    for (const auto& field : fields.all()) {
        auto& f = *out.Add();
        f.set_name(field.name);
        f.set_value(field.value);
    }
}

void to_proto(const proxy::ResponseHead& head, v1::CapturedResponse& out) {
    out.set_status(head.status);
    out.set_reason(head.reason);
    if (head.status != 0) out.set_version(http_version_text(head.version_minor));
    add_fields(head.fields, *out.mutable_fields());
}

}  // namespace

v1::CapturedBodyInfo body_info(const proxy::CapturedBody& body,
                               const proxy::HeaderFields& message_fields) {
    v1::CapturedBodyInfo info;
    info.set_length(body.length);
    info.set_captured(body.stored != 0 ? body.stored : body.bytes.size());
    if (body.length == 0)
        info.set_state(v1::BODY_STATE_EMPTY);
    else if (!body.captured)
        info.set_state(v1::BODY_STATE_OFF);
    else if (info.captured() < body.length)
        info.set_state(v1::BODY_STATE_TRUNCATED);
    else
        info.set_state(v1::BODY_STATE_COMPLETE);
    if (const auto* type = message_fields.find("content-type")) info.set_content_type(*type);
    if (const auto* coding = message_fields.find("content-encoding"))
        info.set_content_encoding(*coding);
    return info;
}

void to_proto(const proxy::CapturedExchange& e, v1::CapturedExchange& out) {
    auto& request = *out.mutable_request();
    request.set_method(e.request.method);
    request.set_target(e.request.target);
    request.set_version(http_version_text(e.request.version_minor));
    add_fields(e.request.fields, *request.mutable_fields());
    for (const auto& interim : e.interim) to_proto(interim, *out.add_interim());
    to_proto(e.response, *out.mutable_response());
    add_fields(e.request_trailers, *out.mutable_request_trailers());
    add_fields(e.response_trailers, *out.mutable_response_trailers());
    *out.mutable_request_body() = body_info(e.request_body, e.request.fields);
    *out.mutable_response_body() = body_info(e.response_body, e.response.fields);
    auto& timings = *out.mutable_timings();
    timings.set_connect_us(e.timings.connect_us);
    timings.set_tls_us(e.timings.tls_us);
    timings.set_send_us(e.timings.send_us);
    timings.set_wait_us(e.timings.wait_us);
    timings.set_receive_us(e.timings.receive_us);
    out.set_server_address(e.server_address);
    out.set_fields_captured(e.fields_captured);
    for (const auto& m : e.websocket.messages) {
        auto& message = *out.add_websocket_messages();
        message.set_from_client(m.from_client);
        message.set_opcode(m.opcode);
        message.set_length(m.length);
        *message.mutable_time() = to_timestamp(m.time);
        message.set_payload(m.payload);
        message.set_compressed(m.compressed);
        message.set_close_code(m.close_code);
        message.set_close_reason(m.close_reason);
    }
    out.set_websocket_messages_dropped(e.websocket.dropped);
}

std::string http_version_text(unsigned minor) {
    return minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
}

proxy::FlowEvent done_event_of(const proxy::CapturedExchange& e) {
    proxy::FlowEvent event;
    event.kind = proxy::FlowEventKind::exchange_done;
    event.time = e.started + e.duration;
    event.connection_id = e.connection_id;
    event.flow_id = e.flow_id;
    event.client = e.client;
    event.mode = e.mode;
    event.host = e.host;
    event.port = e.port;
    event.method = e.request.method;
    event.path = e.request.target;
    event.status = e.response.status;
    event.request_bytes = e.request_bytes;
    event.response_bytes = e.response_bytes;
    event.duration = e.duration;
    // The first response byte came after sending (or during it, answered early) and waiting.
    if (e.timings.wait_us >= 0)
        event.time_to_first_byte = std::chrono::microseconds(
            std::max<std::int64_t>(0, e.timings.send_us) + e.timings.wait_us);
    event.error = e.error;
    event.answered_by_proxy = e.answered_by_proxy;
    return event;
}

}  // namespace mproxy::control
