#pragma once
// One HTTP exchange, full duplex: a writer relays the request (head and body, client -> origin)
// while a reader relays the response (origin -> client) at the same time. Neither waits for the
// other, so an origin's 100 Continue, 103 Early Hints or early final answer reaches the client while
// the request body is still on its way (or not yet sent), which a write-then-read proxy deadlocks on.

#include <string>

#include "proxy/capture/exchange_capture.hpp"
#include "proxy/http/exchange_outcome.hpp"
#include "proxy/http/http_head.hpp"
#include "proxy/http1/body_framing.hpp"
#include "proxy/net/byte_stream.hpp"
#include "proxy/net/deadline.hpp"
#include "proxy/upstream/upstream_connection.hpp"

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

awaitable<ExchangeOutcome> run_exchange(ByteStream& client, beast::flat_buffer& client_buffer,
                                        UpstreamConnection& upstream, const ForwardedRequest& request,
                                        Deadline& deadline, const ExchangeLimits& limits,
                                        ExchangeObserver* observer = nullptr,
                                        ExchangeCapture* capture = nullptr);

}  // namespace mproxy::proxy
