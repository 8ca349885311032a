#pragma once
// One HTTP exchange, full duplex: a writer relays the request (head and body, client -> origin)
// while a reader relays the response (origin -> client) at the same time. Neither waits for the
// other, so an origin's 100 Continue, 103 Early Hints or early final answer reaches the client while
// the request body is still on its way (or not yet sent), which a write-then-read proxy deadlocks on.

#include <string>

#include "proxy/body_framing.hpp"
#include "proxy/byte_stream.hpp"
#include "proxy/deadline.hpp"
#include "proxy/http_head.hpp"
#include "proxy/upstream_connection.hpp"

namespace mproxy::proxy {

struct ExchangeLimits {
    steady_clock::duration idle_timeout;  // no byte moved in either direction
    std::size_t max_response_head_bytes;
};

// The request as it is sent upstream, and what the client asked of its own connection.
struct ForwardedRequest {
    RequestHead head;  // rewritten: origin-form target, hop-by-hop fields removed, Via added
    BodyFraming framing;
    bool websocket = false;          // a WebSocket handshake: a 101 turns the exchange into a tunnel
    bool client_keep_alive = true;   // the client did not ask to close
    unsigned client_version_minor = 1;
};

struct ExchangeOutcome {
    unsigned status = 0;            // final status relayed or answered by mproxy; 0 when none
    unsigned interim_responses = 0; // 1xx relayed
    std::uint64_t request_head_bytes = 0, request_body_bytes = 0;
    std::uint64_t response_head_bytes = 0, response_body_bytes = 0;
    steady_clock::duration time_to_first_byte{};  // until the first response head from the origin
    steady_clock::duration duration{};

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
    virtual void interim_relayed(unsigned status) = 0;
    virtual void final_response(unsigned status) = 0;

protected:
    ~ExchangeObserver() = default;
};

awaitable<ExchangeOutcome> run_exchange(ByteStream& client, beast::flat_buffer& client_buffer,
                                        UpstreamConnection& upstream, const ForwardedRequest& request,
                                        Deadline& deadline, const ExchangeLimits& limits,
                                        ExchangeObserver* observer = nullptr);

}  // namespace mproxy::proxy
