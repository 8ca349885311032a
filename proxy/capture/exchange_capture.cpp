#include "proxy/capture/exchange_capture.hpp"

#include <algorithm>

#include "proxy/capture/redaction.hpp"
#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {

namespace {
std::int64_t micros(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

std::string_view content_type_of(const HeaderFields& fields) {
    const auto* value = fields.find("content-type");
    return value ? std::string_view(*value) : std::string_view{};
}

// A trailer section is field lines like a head's: parsed by putting a status line before them.
std::optional<HeaderFields> parse_trailers(const std::string& lines) {
    if (lines.empty()) return std::nullopt;
    auto parsed = parse_response_head("HTTP/1.1 200 trailers\r\n" + lines + "\r\n");
    if (auto* head = std::get_if<ResponseHead>(&parsed)) return std::move(head->fields);
    return std::nullopt;  // the relay's decoder validated the section; a field it let through but
                          // the head parser refuses is left out rather than stored half-read
}

// Most records fit: one allocation, small enough for the allocator's per-thread cache.
constexpr std::size_t detail_reserve = 1000;

// Buffers that grew past this for one exchange (a large body kept) are let go rather than kept
// for the next exchanges.
constexpr std::size_t kept_buffer_capacity = 16 << 10;

void reuse(std::string& buffer) {
    if (buffer.capacity() > kept_buffer_capacity)
        std::string().swap(buffer);
    else
        buffer.clear();
}
}  // namespace

void ExchangeCapture::begin(const CapturePolicy& policy, const CaptureStart& start) {
    policy_ = &policy;
    redaction_.emplace(policy.redact_fields ? *policy.redact_fields : default_redacted_fields());
    fields_ = {policy.headers, &*redaction_};
    started_ = start.started;
    for (auto* buffer : {&record_.detail, &record_.request_body, &record_.response_body,
                         &request_body_.bytes, &response_body_.bytes})
        reuse(*buffer);
    record_.websocket.clear();
    record_.flow_id = start.flow_id;
    record_.started_us =
        std::chrono::duration_cast<std::chrono::microseconds>(started_.time_since_epoch()).count();
    for (auto* body : {&request_body_, &response_body_}) body->length = body->stored = 0;
    request_tap_.reset();
    response_tap_.reset();
    websocket_ = {};
    client_frames_.reset();
    origin_frames_.reset();
    timings_ = {};
    server_address_.clear();
    record_.detail.reserve(detail_reserve);
    CaptureDetailWriter(record_.detail)
        .begin(start.connection_id, start.client, start.mode, start.host, start.port);
    request_part_at_ = record_.detail.size();
    reset_attempt();
}

void ExchangeCapture::connected(std::int64_t connect_us, std::int64_t tls_us,
                                std::string_view server_address) {
    timings_.connect_us = connect_us;
    timings_.tls_us = tls_us;
    server_address_.assign(server_address);  // into the buffer kept from exchange to exchange
}

void ExchangeCapture::request_sent(const RequestHead& head) {
    reset_attempt();  // sent again: this head replaces the last attempt's
    CaptureDetailWriter(record_.detail).request(head, fields_);
    if (policy_->request_body_bytes > 0 &&
        keeps_body_of_type(*policy_, content_type_of(head.fields)))
        request_tap_.set_cap(policy_->request_body_bytes);
}

void ExchangeCapture::interim_received(const ResponseHead& head) {
    CaptureDetailWriter(record_.detail).response(true, head, fields_);
}

void ExchangeCapture::final_received(const ResponseHead& head) {
    CaptureDetailWriter(record_.detail).response(false, head, fields_);
    final_written_ = true;
    if (policy_->response_body_bytes > 0 &&
        keeps_body_of_type(*policy_, content_type_of(head.fields)))
        response_tap_.set_cap(policy_->response_body_bytes);
}

WebSocketFrameTap& ExchangeCapture::client_frames() {
    if (!client_frames_) client_frames_.emplace(true, policy_->request_body_bytes, websocket_);
    return *client_frames_;
}

WebSocketFrameTap& ExchangeCapture::origin_frames() {
    if (!origin_frames_) origin_frames_.emplace(false, policy_->response_body_bytes, websocket_);
    return *origin_frames_;
}

void ExchangeCapture::reset_attempt() {
    record_.detail.resize(request_part_at_);
    final_written_ = false;
    request_written_ = std::chrono::steady_clock::duration(-1);
}

const CaptureRecord& ExchangeCapture::finish(const ExchangeOutcome& outcome) {
    CaptureDetailWriter::End end;
    end.request_bytes = outcome.request_head_bytes + outcome.request_body_bytes;
    end.response_bytes = outcome.response_head_bytes + outcome.response_body_bytes;
    end.duration_us = micros(outcome.duration);
    end.error = outcome.error;
    if (!final_written_ && outcome.status != 0) {
        end.answered_by_proxy = true;  // mproxy's own answer to a failure (502, 504)
        ResponseHead answer;
        answer.status = outcome.status;
        CaptureDetailWriter(record_.detail).response(false, answer, fields_);
    }

    // HAR's phases, one after another: send until the request's last byte left, wait until the
    // first response byte, receive until the end. An origin that answers before the request is
    // all sent (full duplex) has no wait, and its receive starts with its first byte.
    auto& t = timings_;
    const auto total = micros(outcome.duration);
    const bool answered = outcome.time_to_first_byte.count() > 0;
    const auto first_byte = answered ? micros(outcome.time_to_first_byte) : total;
    // A request cut short by an early answer was being sent until that answer's first byte.
    const auto sent = request_written_.count() >= 0 ? micros(request_written_) : first_byte;
    t.send_us = sent;
    t.wait_us = answered ? std::max<std::int64_t>(0, first_byte - sent) : -1;
    t.receive_us = answered ? std::max<std::int64_t>(0, total - std::max(first_byte, sent)) : -1;

    // Parsed only when fields are kept: lines only means no trailer fields either.
    const auto request_trailers =
        fields_.keep ? parse_trailers(request_tap_.trailer_lines()) : std::nullopt;
    const auto response_trailers =
        fields_.keep ? parse_trailers(response_tap_.trailer_lines()) : std::nullopt;
    if (request_trailers) end.request_trailers = &*request_trailers;
    if (response_trailers) end.response_trailers = &*response_trailers;
    return complete(end);
}

const CaptureRecord& ExchangeCapture::finish_answered(unsigned status, const std::string& error) {
    ResponseHead answer;
    answer.status = status;
    CaptureDetailWriter(record_.detail).response(false, answer, fields_);
    CaptureDetailWriter::End end;
    end.answered_by_proxy = true;
    end.error = error;
    end.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now() - started_)
                          .count();
    return complete(end);
}

const CaptureRecord& ExchangeCapture::complete(CaptureDetailWriter::End& end) {
    end.fields_captured = policy_->headers;
    end.request_body = &request_body_;
    end.response_body = &response_body_;
    end.trailer_fields = fields_;
    end.timings = timings_;
    end.server_address = server_address_;
    CaptureDetailWriter(record_.detail).end(end);
    record_.truncated_bodies =
        (request_body_.truncated() ? 1 : 0) + (response_body_.truncated() ? 1 : 0);
    // Swapped, not moved: both buffers keep their capacity for the next exchange.
    record_.request_body.swap(request_body_.bytes);
    record_.response_body.swap(response_body_.bytes);
    record_.websocket = encode_websocket_messages(websocket_, started_);
    return record_;
}

}  // namespace mproxy::proxy
