#pragma once
// The capture of one exchange while it runs: the exchange engine tells it what crossed the wire
// (the request as sent, each response head as received, before mproxy changes anything), the body
// taps copy the first bytes of each body aside, and finish() hands over the record for the store.
// Heads are written into the record as they pass (redacted, straight from the engine's own heads:
// no field list is copied), so the record is one buffer and the bodies' bytes when it is done.
// Made only for exchanges a capture policy covers: others pay nothing. Begun again for each
// exchange (capture_pool.hpp), so that its buffers serve exchange after exchange.

#include <chrono>
#include <optional>
#include <string>

#include "proxy/capture/body_tap.hpp"
#include "proxy/capture/capture_codec.hpp"
#include "proxy/capture/capture_record.hpp"
#include "proxy/http/exchange_outcome.hpp"
#include "proxy/rules/capture_policy.hpp"

namespace mproxy::proxy {

// Who and where: known when the exchange starts.
struct CaptureStart {
    std::uint64_t flow_id = 0;
    std::uint64_t connection_id = 0;
    std::chrono::system_clock::time_point started;
    std::string_view client;  // "ip:port"
    ConnectionMode mode = ConnectionMode::plain;
    std::string_view host;
    std::uint16_t port = 0;
};

class ExchangeCapture {
  public:
    ExchangeCapture() = default;
    // Its field capture and taps point into itself.
    ExchangeCapture(const ExchangeCapture&) = delete;
    ExchangeCapture& operator=(const ExchangeCapture&) = delete;
    // Starts the capture of an exchange under `policy` (which must outlive it), dropping what the
    // last one kept.
    void begin(const CapturePolicy& policy, const CaptureStart& start);

    // The origin connection the exchange goes out on: microseconds its connect and TLS handshake
    // took (-1 for a pooled connection) and its address (empty when there is none).
    void connected(std::int64_t connect_us, std::int64_t tls_us, std::string_view server_address);
    // The request head as it is sent to the origin; decides whether its body is kept.
    void request_sent(const RequestHead& head);
    // Response heads as received from the origin, before hop-by-hop fields are taken out.
    void interim_received(const ResponseHead& head);
    void final_received(const ResponseHead& head);

    BodyTap& request_tap() { return request_tap_; }
    BodyTap& response_tap() { return response_tap_; }
    // The payload's real length in each direction (chunk framing removed), as relayed.
    void request_body_relayed(std::uint64_t payload_bytes) { request_body_.length = payload_bytes; }
    void response_body_relayed(std::uint64_t payload_bytes) {
        response_body_.length = payload_bytes;
    }
    // When the last request byte reached the origin, since the exchange began.
    void request_written(std::chrono::steady_clock::duration after) { request_written_ = after; }

    // After a 101: parsers of each direction's WebSocket frames, filling the exchange's messages
    // (payloads up to the policy's request and response body caps).
    WebSocketFrameTap& client_frames();
    WebSocketFrameTap& origin_frames();

    // The exchange is sent again on a fresh connection: what the failed attempt saw is dropped.
    void reset_attempt();

    // The record of the exchange as it ended, its timings worked out; valid until the next begin().
    const CaptureRecord& finish(const ExchangeOutcome& outcome);
    // An exchange mproxy answered without an origin (it could not be reached, say).
    const CaptureRecord& finish_answered(unsigned status, const std::string& error);

  private:
    const CaptureRecord& complete(CaptureDetailWriter::End& end);

    const CapturePolicy* policy_ = nullptr;
    std::optional<RedactionList> redaction_;
    FieldCapture fields_;
    std::chrono::system_clock::time_point started_;
    CaptureRecord record_;
    std::size_t request_part_at_ = 0;  // where the request part begins in the detail record
    bool final_written_ = false;
    CapturedBody request_body_, response_body_;
    BodyTap request_tap_{request_body_, 0}, response_tap_{response_body_, 0};
    WebSocketMessages websocket_;
    std::optional<WebSocketFrameTap> client_frames_, origin_frames_;
    CaptureTimings timings_;
    std::string server_address_;
    std::chrono::steady_clock::duration request_written_{-1};
};

}  // namespace mproxy::proxy
