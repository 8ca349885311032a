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

// The head's line always; its fields when the policy keeps them.
void copy_head(ResponseHead& to, const ResponseHead& from, bool with_fields) {
    to.version_minor = from.version_minor;
    to.status = from.status;
    to.reason = from.reason;
    if (with_fields) to.fields = from.fields;
}

// A trailer section is field lines like a head's: parsed by putting a status line before them.
HeaderFields parse_trailers(const std::string& lines) {
    if (lines.empty()) return {};
    auto parsed = parse_response_head("HTTP/1.1 200 trailers\r\n" + lines + "\r\n");
    if (auto* head = std::get_if<ResponseHead>(&parsed)) return std::move(head->fields);
    return {};  // the relay's decoder validated the section; a field it let through but the
                // head parser refuses is left out of the capture rather than stored half-read
}
}  // namespace

ExchangeCapture::ExchangeCapture(const CapturePolicy& policy, CapturedExchange start)
    : policy_(policy),
      exchange_(std::make_unique<CapturedExchange>(std::move(start))),
      request_tap_(exchange_->request_body, 0),
      response_tap_(exchange_->response_body, 0) {
    exchange_->fields_captured = policy.headers;
}

void ExchangeCapture::request_sent(const RequestHead& head) {
    auto& request = exchange_->request;
    request.method = head.method;
    request.target = head.target;
    request.version_minor = head.version_minor;
    if (policy_.request_body_bytes > 0 && keeps_body_of_type(policy_, content_type_of(head.fields)))
        request_tap_.set_cap(policy_.request_body_bytes);
}

void ExchangeCapture::interim_received(const ResponseHead& head) {
    copy_head(exchange_->interim.emplace_back(), head, policy_.headers);
}

void ExchangeCapture::final_received(const ResponseHead& head) {
    copy_head(exchange_->response, head, policy_.headers);
    if (policy_.response_body_bytes > 0 &&
        keeps_body_of_type(policy_, content_type_of(head.fields)))
        response_tap_.set_cap(policy_.response_body_bytes);
}

WebSocketFrameTap& ExchangeCapture::client_frames() {
    if (!client_frames_)
        client_frames_.emplace(true, policy_.request_body_bytes, exchange_->websocket);
    return *client_frames_;
}

WebSocketFrameTap& ExchangeCapture::origin_frames() {
    if (!origin_frames_)
        origin_frames_.emplace(false, policy_.response_body_bytes, exchange_->websocket);
    return *origin_frames_;
}

void ExchangeCapture::reset_attempt() {
    exchange_->interim.clear();
    request_written_ = std::chrono::steady_clock::duration(-1);
}

void ExchangeCapture::request_body_relayed(std::uint64_t payload_bytes) {
    exchange_->request_body.length = payload_bytes;
}
void ExchangeCapture::response_body_relayed(std::uint64_t payload_bytes) {
    exchange_->response_body.length = payload_bytes;
}

void ExchangeCapture::redact() {
    const auto& names = policy_.redact_fields ? *policy_.redact_fields : default_redacted_fields();
    if (names.empty() || !policy_.headers) return;
    auto& e = *exchange_;
    redact_fields(e.request.fields, names);
    redact_fields(e.response.fields, names);
    for (auto& interim : e.interim) redact_fields(interim.fields, names);
    redact_fields(e.request_trailers, names);
    redact_fields(e.response_trailers, names);
}

std::unique_ptr<CapturedExchange> ExchangeCapture::finish(const ExchangeOutcome& outcome,
                                                         RequestHead&& sent_head) {
    auto& e = *exchange_;
    // Moved, not copied while the exchange ran: one list of strings fewer made per exchange.
    if (policy_.headers) e.request.fields = std::move(sent_head.fields);
    if (policy_.headers) {
        e.request_trailers = parse_trailers(request_tap_.trailer_lines());
        e.response_trailers = parse_trailers(response_tap_.trailer_lines());
    }
    e.request_bytes = outcome.request_head_bytes + outcome.request_body_bytes;
    e.response_bytes = outcome.response_head_bytes + outcome.response_body_bytes;
    e.duration = std::chrono::duration_cast<std::chrono::microseconds>(outcome.duration);
    e.error = outcome.error;
    if (e.response.status == 0 && outcome.status != 0) {
        e.answered_by_proxy = true;  // mproxy's own answer to a failure (502, 504)
        e.response.status = outcome.status;
    }

    // HAR's phases, one after another: send until the request's last byte left, wait until the
    // first response byte, receive until the end. An origin that answers before the request is
    // all sent (full duplex) has no wait, and its receive starts with its first byte.
    auto& t = e.timings;
    const auto total = micros(outcome.duration);
    const bool answered = outcome.time_to_first_byte.count() > 0;
    const auto first_byte = answered ? micros(outcome.time_to_first_byte) : total;
    // A request cut short by an early answer was being sent until that answer's first byte.
    const auto sent = request_written_.count() >= 0 ? micros(request_written_) : first_byte;
    t.send_us = sent;
    t.wait_us = answered ? std::max<std::int64_t>(0, first_byte - sent) : -1;
    t.receive_us = answered ? std::max<std::int64_t>(0, total - std::max(first_byte, sent)) : -1;
    redact();
    return std::move(exchange_);
}

std::unique_ptr<CapturedExchange> ExchangeCapture::finish_answered(const RequestHead& sent,
                                                                   unsigned status,
                                                                   const std::string& error) {
    auto& e = *exchange_;
    // Never sent: the fields are copied from the head, which stays the caller's (a rare path).
    if (policy_.headers) e.request.fields = sent.fields;
    e.answered_by_proxy = true;
    e.response.status = status;
    e.error = error;
    e.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now() - e.started);
    redact();
    return std::move(exchange_);
}

}  // namespace mproxy::proxy
