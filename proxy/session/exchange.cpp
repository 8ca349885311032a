#include "proxy/session/exchange.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http1/error_response.hpp"
#include "proxy/http1/head_parser.hpp"
#include "proxy/http1/head_reader.hpp"
#include "proxy/session/body_relay.hpp"
#include "proxy/session/tunnel.hpp"

namespace mproxy::proxy {

namespace {

using namespace asio::experimental::awaitable_operators;

// What the two directions share while they run; both run on the connection's thread.
struct Duplex {
    Duplex(ByteStream& c, beast::flat_buffer& cb, UpstreamConnection& u, const ForwardedRequest& r, Deadline& dl,
           const ExchangeLimits& l, ExchangeOutcome& o)
        : client(c), client_buffer(cb), upstream(u), request(r), deadline(dl), limits(l), out(o) {}

    ByteStream& client;
    beast::flat_buffer& client_buffer;
    UpstreamConnection& upstream;
    const ForwardedRequest& request;
    Deadline& deadline;
    const ExchangeLimits& limits;
    ExchangeOutcome& out;
    ExchangeObserver* observer = nullptr;
    ExchangeCapture* capture = nullptr;  // only for exchanges a capture policy covers
    RelayOptions relay{&deadline, limits.idle_timeout};
    steady_clock::time_point started = steady_clock::now();

    BodyRelay request_relay;
    bool writer_done = false;
    bool response_started = false;   // some response bytes reached the client
    bool response_done = false;
    bool answered_early = false;     // the response was complete before the request: writer stopped
    bool client_keep_alive = false;  // decided when the final response head is written
    bool origin_keeps_alive = false;
    std::string response_error;
};

std::string describe_request_failure(const BodyRelay& r) {
    if (r.framing_error) return std::string("bad chunked request body: ") + r.framing_error;
    if (r.read_error == asio::error::eof) return "client closed the connection inside the request body";
    if (r.read_error) return "reading request body from client: " + r.read_error.message();
    if (r.write_error) return "writing request to origin: " + r.write_error.message();
    return {};
}

// Stops both directions after a failure without closing the client connection: it may still carry
// mproxy's own answer, and the session closes it gently afterwards.
void stop_both(Duplex& d) {
    d.upstream.io().close();
    d.client.cancel();
}

// The client learns of a failure before any response byte reached it: answer with a status.
awaitable<> answer_failure(Duplex& d, unsigned status, const std::string& reason) {
    d.response_error = reason;
    if (d.response_started || !d.client.is_open()) co_return;
    if (d.request_relay.read_error) co_return;  // the client is gone or broke its request off
    if (d.request_relay.framing_error) status = 400;
    const auto response = make_error_response(
        status, d.request_relay.framing_error ? describe_request_failure(d.request_relay) : reason, true);
    d.response_started = true;
    d.out.status = status;
    co_await d.client.write(asio::buffer(response));
}

awaitable<> write_request(Duplex& d) {
    std::string head;
    head.reserve(512);
    append_head(head, d.request.head);
    d.out.request_head_bytes = head.size();
    auto relay = d.relay;
    if (d.capture) {
        d.capture->request_sent(d.request.head);
        relay.tap = &d.capture->request_tap();
    }
    d.request_relay = co_await relay_body(d.client, d.client_buffer, d.upstream.io(), d.request.framing,
                                          std::move(head), relay);
    d.writer_done = true;
    if (d.capture) {
        d.capture->request_body_relayed(d.request_relay.payload_bytes);
        if (d.request_relay.complete) d.capture->request_written(steady_clock::now() - d.started);
    }
    d.out.request_body_bytes = d.request_relay.bytes;
    if (d.request_relay.read_error || d.request_relay.framing_error) {
        // A partial request gets no meaningful answer: stop the reader waiting for one.
        if (!d.response_done) d.upstream.io().close();
    }
    // A write error means the origin stopped reading; its answer (an early 413, say) may still
    // be on its way, so the reader carries on.
}

awaitable<bool> relay_interim(Duplex& d, ResponseHead& interim) {
    ++d.out.interim_responses;
    if (d.observer) d.observer->interim_relayed(interim);
    if (d.capture) d.capture->interim_received(interim);
    if (d.request.client_version_minor == 0) co_return true;  // HTTP/1.0 clients do not expect 1xx
    strip_hop_by_hop(interim.fields, false);
    interim.fields.add("Via", std::string(via_value));
    interim.version_minor = 1;
    std::string head;
    append_head(head, interim);
    d.response_started = true;
    auto [ec, n] = co_await d.client.write(asio::buffer(head));
    d.out.response_head_bytes += n;
    if (ec) {
        d.response_error = "writing interim response to client: " + ec.message();
        d.upstream.io().close();
        d.client.close();
        co_return false;
    }
    d.deadline.expires_after(d.limits.idle_timeout);
    co_return true;
}

awaitable<> relay_final(Duplex& d, ResponseHead& response, BodyFraming framing) {
    d.out.status = response.status;
    if (d.observer) d.observer->final_response(response);
    if (d.capture) d.capture->final_received(response);
    const bool switching = response.status == 101;
    // RFC 9112 section 7.1: no chunked framing to an HTTP/1.0 client. Its body goes out as the
    // chunk data alone, delimited by closing the connection (its length is not known in advance).
    const bool to_http10 = d.request.client_version_minor == 0;
    const bool dechunk = to_http10 && framing.kind == BodyFraming::Kind::chunked;
    d.origin_keeps_alive = !switching && keeps_alive(response.fields, response.version_minor) &&
                           framing.kind != BodyFraming::Kind::until_close;
    // Decided now, with what is known now: a request still being sent means an early answer, after
    // which the connection cannot be kept in step with the client.
    d.client_keep_alive = !switching && d.request.client_keep_alive && d.writer_done &&
                          d.request_relay.complete &&
                          framing.kind != BodyFraming::Kind::until_close && !dechunk;

    strip_hop_by_hop(response.fields, switching);
    if (dechunk || (to_http10 && framing.kind == BodyFraming::Kind::none))
        response.fields.remove("transfer-encoding");
    response.fields.add("Via", std::string(via_value));
    if (!switching && !d.client_keep_alive)
        response.fields.add("Connection", "close");
    else if (d.client_keep_alive && d.request.client_version_minor == 0)
        response.fields.add("Connection", "keep-alive");
    response.version_minor =
        1;  // our own version, whatever the origin's, as RFC 9110 section 2.5 asks

    std::string head;
    head.reserve(512);
    append_head(head, response);
    d.out.response_head_bytes += head.size();
    d.response_started = true;
    auto relay = d.relay;
    relay.dechunk = dechunk;
    if (d.capture) relay.tap = &d.capture->response_tap();
    const auto relayed = co_await relay_body(d.upstream.io(), d.upstream.buffer, d.client, framing,
                                             std::move(head), relay);
    d.out.response_body_bytes = relayed.bytes;
    if (d.capture) d.capture->response_body_relayed(relayed.payload_bytes);
    d.response_done = true;
    if (relayed.complete) {
        d.out.response_complete = true;
        if (!d.writer_done && !switching) {
            // An early final answer is complete while the client still sends: stop relaying the
            // request (the origin has answered it) and let the session close the client connection.
            d.answered_early = true;
            stop_both(d);
        }
        co_return;
    }
    if (relayed.write_error) {
        d.response_error = "writing response to client: " + relayed.write_error.message();
        d.client.close();
        d.upstream.io().close();
    } else {
        d.response_error = relayed.framing_error
                               ? std::string("origin sent a bad chunked body: ") + relayed.framing_error
                               : "origin connection failed inside the response body: " +
                                     relayed.read_error.message();
        // Never let a truncated body pass for a complete one: end the client connection abortively.
        d.client.reset();
        d.upstream.io().close();
    }
}

awaitable<> read_response(Duplex& d) {
    for (;;) {
        const auto head = co_await read_head(d.upstream.io(), d.upstream.buffer, d.limits.max_response_head_bytes);
        if (head.status != HeadRead::Status::ok) {
            const bool nothing_received = head.status == HeadRead::Status::closed ||
                                          head.ec == asio::error::connection_reset;
            if (nothing_received && d.upstream.exchanges > 0 && !d.response_started &&
                d.request.framing.kind == BodyFraming::Kind::none && !d.request_relay.read_error) {
                d.out.retry_on_fresh_connection = true;  // a pooled connection the origin had closed
                d.response_error = "pooled origin connection was closed by the origin";
                co_return;
            }
            if (d.deadline.expired())
                co_await answer_failure(d, 504, "origin did not answer: no data moved for the idle timeout");
            else if (head.status == HeadRead::Status::too_large)
                co_await answer_failure(d, 502, "origin sent a response head larger than the limit");
            else if (head.status == HeadRead::Status::closed)
                co_await answer_failure(d, 502, "origin closed the connection without answering");
            else if (head.status == HeadRead::Status::truncated)
                co_await answer_failure(d, 502, "origin closed the connection inside the response head");
            else
                co_await answer_failure(d, 502, "reading from origin: " + head.ec.message());
            stop_both(d);
            co_return;
        }
        if (d.out.time_to_first_byte == steady_clock::duration{})
            d.out.time_to_first_byte = steady_clock::now() - d.started;
        auto parsed = parse_response_head(head.head(d.upstream.buffer));
        d.upstream.buffer.consume(head.head_size);
        if (auto* failure = std::get_if<HttpFailure>(&parsed)) {
            co_await answer_failure(d, 502, "origin sent a malformed response: " + failure->reason);
            stop_both(d);
            co_return;
        }
        auto& response = std::get<ResponseHead>(parsed);
        if (response.status < 200 && response.status != 101) {
            if (!co_await relay_interim(d, response)) co_return;
            continue;
        }
        if (response.status == 101 && !d.request.websocket) {
            co_await answer_failure(d, 502, "origin switched protocols without being asked to");
            stop_both(d);
            co_return;
        }
        auto framing = response_body_framing(response, d.request.head.method);
        if (auto* failure = std::get_if<HttpFailure>(&framing)) {
            co_await answer_failure(d, failure->status, failure->reason);
            stop_both(d);
            co_return;
        }
        co_await relay_final(d, response, std::get<BodyFraming>(framing));
        co_return;
    }
}

std::string join_errors(const Duplex& d) {
    // An early answer ends the request on purpose: not a failure of either side.
    const auto request_error = d.request_relay.complete || d.answered_early ? std::string{}
                                                                             : describe_request_failure(d.request_relay);
    if (d.response_error.empty()) return request_error;
    if (request_error.empty()) return d.response_error;
    return d.response_error + " (request side: " + request_error + ")";
}

}  // namespace

awaitable<ExchangeOutcome> run_exchange(ByteStream& client, beast::flat_buffer& client_buffer,
                                        UpstreamConnection& upstream, const ForwardedRequest& request,
                                        Deadline& deadline, const ExchangeLimits& limits,
                                        ExchangeObserver* observer, ExchangeCapture* capture) {
    ExchangeOutcome out;
    Duplex d{client, client_buffer, upstream, request, deadline, limits, out};
    d.observer = observer;
    d.capture = capture;
    deadline.expires_after(limits.idle_timeout);

    if (request.framing.kind == BodyFraming::Kind::none) {
        // No body: the writer's whole job is one head, which the kernel takes at once, so the
        // reader can simply follow it. This spares bodiless requests (most of them) the cost of
        // running two coroutines in parallel; any response, 1xx included, is still relayed as it comes.
        co_await write_request(d);
        co_await read_response(d);
    } else {
        co_await (write_request(d) && read_response(d));
    }

    if (out.status == 101 && out.response_complete && d.request_relay.complete) {
        out.upgraded = true;
        // A captured exchange has its WebSocket frames parsed as they are relayed.
        std::optional<TunnelTaps> taps;
        if (capture) {
            if (observer)
                for (auto* frames : {&capture->client_frames(), &capture->origin_frames()})
                    frames->on_message = [observer](const CapturedWebSocketMessage& m) {
                        observer->websocket_message(m.from_client, m.opcode, m.length, m.payload);
                    };
            taps = TunnelTaps{[&frames = capture->client_frames()](std::string_view b) { frames.feed(b); },
                              [&frames = capture->origin_frames()](std::string_view b) { frames.feed(b); }};
        }
        const auto tunnel = co_await run_tunnel(client, client_buffer, upstream.io(), upstream.buffer, deadline,
                                                limits.idle_timeout, taps ? &*taps : nullptr);
        out.request_body_bytes += tunnel.client_to_upstream;
        out.response_body_bytes += tunnel.upstream_to_client;
        d.response_error = tunnel.error;
    }
    out.request_complete = d.request_relay.complete;
    out.answered_early = d.answered_early;
    out.client_reusable = d.client_keep_alive && out.request_complete && out.response_complete && !out.upgraded &&
                          client.is_open();
    out.upstream_reusable = d.origin_keeps_alive && out.request_complete && out.response_complete &&
                            !out.upgraded && upstream.buffer.size() == 0 && upstream.io().is_open();
    out.error = join_errors(d);
    out.duration = steady_clock::now() - d.started;
    co_return out;
}

}  // namespace mproxy::proxy
