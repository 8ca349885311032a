#pragma once
// The capture of one exchange while it runs: the exchange engine tells it what crossed the wire
// (the request as sent, each response head as received, before mproxy changes anything), the body
// taps copy the first bytes of each body aside, and finish() hands over the whole, redacted,
// for the store. Made only for exchanges a capture policy covers: others pay nothing.

#include <chrono>
#include <memory>
#include <optional>

#include "proxy/capture/body_tap.hpp"
#include "proxy/capture/captured_exchange.hpp"
#include "proxy/http/exchange_outcome.hpp"
#include "proxy/rules/capture_policy.hpp"

namespace mproxy::proxy {

class ExchangeCapture {
  public:
    // `start` carries who and where: ids, client, mode, origin, start time.
    ExchangeCapture(const CapturePolicy& policy, CapturedExchange start);

    CapturedExchange& exchange() { return *exchange_; }
    // The request head as it is sent to the origin; decides whether its body is kept. Its fields
    // are taken at finish(), not copied now.
    void request_sent(const RequestHead& head);
    // Response heads as received from the origin, before hop-by-hop fields are taken out.
    void interim_received(const ResponseHead& head);
    void final_received(const ResponseHead& head);

    BodyTap& request_tap() { return request_tap_; }
    BodyTap& response_tap() { return response_tap_; }
    // The payload's real length in each direction (chunk framing removed), as relayed.
    void request_body_relayed(std::uint64_t payload_bytes);
    void response_body_relayed(std::uint64_t payload_bytes);
    // When the last request byte reached the origin, since the exchange began.
    void request_written(std::chrono::steady_clock::duration after) { request_written_ = after; }

    // After a 101: parsers of each direction's WebSocket frames, filling the exchange's messages
    // (payloads up to the policy's request and response body caps).
    WebSocketFrameTap& client_frames();
    WebSocketFrameTap& origin_frames();

    // The exchange is sent again on a fresh connection: what the failed attempt saw is dropped.
    void reset_attempt();

    // The exchange as it ended, redacted, its timings worked out; the capture is spent. `sent_head` is
    // the head request_sent() saw, no longer needed by the caller: its fields are moved in.
    std::unique_ptr<CapturedExchange> finish(const ExchangeOutcome& outcome, RequestHead&& sent_head);
    // An exchange mproxy answered without an origin (it could not be reached, say).
    std::unique_ptr<CapturedExchange> finish_answered(const RequestHead& sent, unsigned status,
                                                      const std::string& error);

  private:
    void redact();

    const CapturePolicy& policy_;
    std::unique_ptr<CapturedExchange> exchange_;
    BodyTap request_tap_, response_tap_;
    std::optional<WebSocketFrameTap> client_frames_, origin_frames_;
    std::chrono::steady_clock::duration request_written_{-1};
};

}  // namespace mproxy::proxy
