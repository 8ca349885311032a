#pragma once
// A captured exchange as compact byte strings: the detail record (the store's `detail` column: all
// but the flow id, the start time and the body bytes, which the store keeps apart, so that a
// listing never reads bodies) and the WebSocket messages; and back into a CapturedExchange.
//
// The detail record is written in the order an exchange reveals itself (who and where, the request
// as sent, each response head as received, then what is known only at the end), so that the
// data plane writes it as the exchange runs, straight from the heads it already has: no copy of a
// field list, and one buffer handed over at the end. Versioned: a record of another format is
// refused rather than misread.

#include <string>
#include <string_view>
#include <vector>

#include "proxy/capture/capture_record.hpp"
#include "proxy/capture/captured_exchange.hpp"
#include "proxy/capture/redaction.hpp"

namespace mproxy::proxy {

// Which fields a record keeps: none (lines only), or all, the values of `redact`'s names (any
// case) replaced by "[redacted: N bytes]".
struct FieldCapture {
    bool keep = true;
    const RedactionList* redact = nullptr;
};

// Appends a detail record to `out`, one part after another; end() completes it.
class CaptureDetailWriter {
  public:
    explicit CaptureDetailWriter(std::string& out) : out_(out) {}

    void begin(std::uint64_t connection_id, std::string_view client, ConnectionMode mode,
               std::string_view host, std::uint16_t port);
    void request(const RequestHead& head, FieldCapture fields);
    // Each 1xx as it came, then the final head (none when the origin never sent one).
    void response(bool interim, const ResponseHead& head, FieldCapture fields);

    // What is known when the exchange ends.
    struct End {
        bool fields_captured = true, answered_by_proxy = false;
        const CapturedBody* request_body = nullptr;  // captured flag and real length
        const CapturedBody* response_body = nullptr;
        const HeaderFields* request_trailers = nullptr;  // nullptr: none
        const HeaderFields* response_trailers = nullptr;
        FieldCapture trailer_fields;
        std::uint64_t request_bytes = 0, response_bytes = 0;
        std::int64_t duration_us = 0;
        std::string_view error;
        CaptureTimings timings;
        std::string_view server_address;
    };
    void end(const End& end);

  private:
    std::string& out_;
};

// The whole record of an exchange held as a CapturedExchange (its fields as they are: no
// redaction).
std::string encode_capture_detail(const CapturedExchange& exchange);
// Fills what the detail record holds (all but the flow id, the start time and the body bytes);
// false when `bytes` is not such a record.
bool decode_capture_detail(std::string_view bytes, CapturedExchange& exchange);

// The messages as one byte string (the store's `messages` table; empty when there are none), times
// relative to `started`; and back into exchange.websocket (relative to exchange.started).
std::string encode_websocket_messages(const WebSocketMessages& messages,
                                      std::chrono::system_clock::time_point started);
bool decode_websocket_messages(std::string_view bytes, CapturedExchange& exchange);

// What the store is handed for an exchange held whole (tests, benchmarks, tools).
CaptureRecord capture_record(const CapturedExchange& exchange);

}  // namespace mproxy::proxy
