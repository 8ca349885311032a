#pragma once
// What the data plane tells observers about its traffic, as plain values. The control plane turns
// these into mproxy.v1.FlowEvent messages; nothing here knows about protobuf.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/accounting/connection_registry.hpp"
#include "proxy/http/http_head.hpp"
#include "proxy/rules/connect_action.hpp"

namespace mproxy::proxy {

enum class FlowEventKind {
    connection_opened,
    connection_closed,  // with the connection's final counters
    connect_decision,   // which rule decided a CONNECT (or a plain request's reject), and why
    request_head,       // a request head read from the client
    interim_response,   // a 1xx relayed to the client
    response_head,      // the final response head from the origin (or mproxy's own answer)
    exchange_done,      // status, bytes each way, durations, error
    tls_failure,        // a TLS handshake failed, with the client or with the origin
    websocket_message,  // a WebSocket message relayed after a 101 (captured exchanges)
};
std::string_view to_string(FlowEventKind kind);

// One flat record for every kind; fields a kind does not use stay empty. Flat keeps publishing a
// single move into the log's ring, with no per-kind allocation.
struct FlowEvent {
    std::uint64_t sequence = 0;  // set by FlowLog::publish, 1, 2, 3, ...
    std::chrono::system_clock::time_point time;  // set by FlowLog::publish
    FlowEventKind kind = FlowEventKind::connection_opened;

    std::uint64_t connection_id = 0;
    std::uint64_t flow_id = 0;  // the exchange (request/response pair); 0 for connection-level events
    std::string client;         // "ip:port"
    ConnectionMode mode = ConnectionMode::plain;
    std::string host;           // the target: a CONNECT authority or the request's origin
    std::uint16_t port = 0;

    std::string method;  // request_head, response_head, interim_response, exchange_done
    std::string path;    // the request target in origin form
    unsigned status = 0; // 1xx for interim_response; final status otherwise; 0 when none

    // connect_decision
    std::string rule_id;  // empty: the default action
    ConnectAction action = ConnectAction::tunnel;
    std::string reason;

    // exchange_done: request/response bytes (head + body); connection_closed: the wire counters
    std::uint64_t request_bytes = 0, response_bytes = 0;
    std::uint64_t client_rx = 0, client_tx = 0, upstream_rx = 0, upstream_tx = 0;
    std::chrono::microseconds time_to_first_byte{0}, duration{0};
    std::string error;
    bool answered_by_proxy = false;  // exchange_done: mproxy answered itself, the origin never did

    // tls_failure
    std::string server_name;  // the SNI
    bool upstream_side = false;  // false: the handshake with the client failed

    // websocket_message
    bool from_client = false;
    unsigned opcode = 0;
    std::uint64_t length = 0;

    // Only while a subscriber asked for them (FlowLog::wants_details()): request_head,
    // interim_response and response_head carry the head's fields, websocket_message its first
    // bytes. Shared, so that copying the event does not copy them.
    std::shared_ptr<const HeaderFields> fields;
    std::shared_ptr<const std::string> payload;
};

// An event as the log holds it: immutable once published, shared by every reader, so a reader
// copies a pointer under the log's lock, not eight strings.
struct LoggedFlowEvent {
    explicit LoggedFlowEvent(FlowEvent&& e) : event(std::move(e)) {}

    FlowEvent event;
};
using FlowEventPtr = std::shared_ptr<const LoggedFlowEvent>;

}  // namespace mproxy::proxy
