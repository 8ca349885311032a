#pragma once
// One intercepted exchange as the capture keeps it: the heads as they crossed the wire (the request
// as sent to the origin, every 1xx and the final response as received), trailers, the first bytes
// of each body up to a cap with its real length, and the timings HAR needs. Plain values: what the
// store's readers give back (the data plane never builds one: it writes a CaptureRecord as the
// exchange runs, exchange_capture.hpp), and what tests and tools encode with capture_record().

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/accounting/connection_registry.hpp"
#include "proxy/capture/websocket_messages.hpp"
#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

struct CapturedBody {
    bool captured = false;     // false: the policy kept no body bytes for this direction
    std::string bytes;         // the payload's first bytes (chunk framing removed), up to the cap
    std::uint64_t length = 0;  // the payload's real length
    // Set by the store's readers: how many bytes the store keeps (also when `bytes` was not read).
    std::uint64_t stored = 0;
    bool truncated() const { return captured && length > bytes.size(); }
    bool operator==(const CapturedBody&) const = default;
};

// Microseconds; -1 where a phase did not happen (a pooled connection has no connect, say).
struct CaptureTimings {
    std::int64_t connect_us = -1, tls_us = -1, send_us = -1, wait_us = -1, receive_us = -1;
    bool operator==(const CaptureTimings&) const = default;
};

struct CapturedExchange {
    std::uint64_t flow_id = 0;
    std::uint64_t connection_id = 0;
    std::chrono::system_clock::time_point started;
    std::string client;  // "ip:port"
    ConnectionMode mode = ConnectionMode::plain;
    std::string host;
    std::uint16_t port = 0;
    std::string server_address;  // the origin's IP address as connected to; empty when none was

    bool fields_captured = true;  // false: the policy kept lines and numbers only, no fields
    RequestHead request;          // as sent to the origin (credentials redacted)
    std::vector<ResponseHead> interim;
    ResponseHead response;  // status 0: none (mproxy answered, or the origin never did)
    HeaderFields request_trailers, response_trailers;
    CapturedBody request_body, response_body;
    WebSocketMessages websocket;  // after a 101: the messages both ways

    CaptureTimings timings;
    std::uint64_t request_bytes = 0, response_bytes = 0;  // on the wire, heads included
    std::chrono::microseconds duration{0};
    bool answered_by_proxy = false;
    std::string error;
};

bool operator==(const HeaderFields& a, const HeaderFields& b);

}  // namespace mproxy::proxy
