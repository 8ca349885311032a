#pragma once
// What one exchange came to (status, byte counts, timings, how each side may go on), and the
// observer told of response heads as they pass. Whatever carries the exchange, these are what the
// flow events, the metrics and the log are made from, so they sit below every protocol's code.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

struct ExchangeOutcome {
    unsigned status = 0;            // final status relayed or answered by mproxy; 0 when none
    unsigned interim_responses = 0; // 1xx relayed
    std::uint64_t request_head_bytes = 0, request_body_bytes = 0;
    std::uint64_t response_head_bytes = 0, response_body_bytes = 0;
    std::chrono::steady_clock::duration time_to_first_byte{};  // until the first response head from the origin
    std::chrono::steady_clock::duration duration{};

    bool request_complete = false;   // the whole request reached the origin
    bool response_complete = false;  // the whole response reached the client
    bool upgraded = false;           // 101 to a WebSocket handshake, then tunnelled
    bool answered_early = false;     // the final response was complete before the request body
    bool client_reusable = false;    // the client connection may carry another request
    bool upstream_reusable = false;  // the origin connection may go back to the pool
    // A pooled connection turned out dead before any byte of a response: the request (bodiless,
    // nothing relayed to the client yet) may be sent again on a fresh connection.
    bool retry_on_fresh_connection = false;

    std::string error;  // both directions' failures in one account; empty when clean
};

// Told of response heads as they are relayed (flow events); called on the connection's thread.
class ExchangeObserver {
public:
    // The heads as received from the origin, before mproxy changes anything.
    virtual void interim_relayed(const ResponseHead& interim) = 0;
    virtual void final_response(const ResponseHead& response) = 0;
    // A whole WebSocket message after a 101 (exchanges the capture covers): its first bytes.
    virtual void websocket_message(bool from_client, unsigned opcode, std::uint64_t length,
                                   std::string_view first_bytes) = 0;

protected:
    ~ExchangeObserver() = default;
};

}  // namespace mproxy::proxy
