#pragma once
// One client connection, read as RFC 9112 describes it: read a request head, decide, and hand the
// request to the exchange engine (or a CONNECT to a tunnel), then loop while keep-alive holds.

#include <memory>
#include <optional>
#include <string>

#include "proxy/accounting/connection_registry.hpp"
#include "proxy/capture/exchange_capture.hpp"
#include "proxy/flows/flow_recorder.hpp"
#include "proxy/http/authority.hpp"
#include "proxy/http1/body_framing.hpp"
#include "proxy/net/deadline.hpp"
#include "proxy/net/tcp_stream.hpp"
#include "proxy/rules/rule.hpp"
#include "proxy/upstream/upstream_connection.hpp"

namespace mproxy::proxy {

class Worker;

// Where every request inside an `http` or `mitm` CONNECT tunnel goes.
struct TunnelOrigin {
    Authority authority;
    bool tls = false;          // intercepted TLS: re-originate TLS to the origin
    std::string server_name;   // SNI and the name verified towards the origin
};

class ClientSession {
public:
    ClientSession(Worker& worker, tcp::socket socket);
    ~ClientSession();
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    awaitable<> run();
    // Ends the session from its own thread (shutdown): closes both sides.
    void abort();
    std::uint64_t connection_id() const { return record_->id(); }
    // Between requests, waiting for the client's next one: a drain may close it at once.
    bool idle() const { return idle_; }

private:
    // Serves requests until the connection should end. Inside an `http` CONNECT tunnel every
    // request goes to `tunnel_origin`.
    awaitable<> serve_requests(const std::optional<TunnelOrigin>& tunnel_origin);
    // Returns true when the connection may carry another request.
    awaitable<bool> serve_request(RequestHead request, const std::optional<TunnelOrigin>& tunnel_origin);
    awaitable<bool> forward(RequestHead request, BodyFraming framing, const TunnelOrigin& origin, bool origin_from_uri);
    // The rules for a plain proxy request: a reject is answered here (returns its answer's outcome).
    awaitable<std::optional<bool>> apply_rules_to_request(const RequestHead& request, const Authority& origin,
                                                          bool has_body);
    // Max-Forwards on OPTIONS and TRACE: counted down, or at 0 answered here as the final recipient
    // (returns whether the connection may continue).
    awaitable<std::optional<bool>> apply_max_forwards(RequestHead& request, bool has_body);
    // Expect: 100-continue as the rule in force wants it; returns false when the request was refused.
    awaitable<std::optional<bool>> apply_expect_policy(RequestHead& request, bool has_body);
    void set_mode(ConnectionMode mode);
    awaitable<> serve_connect(const RequestHead& request);
    // After 200 to a `mitm` CONNECT: TLS with a minted leaf, or cleartext HTTP when the client
    // does not start TLS.
    awaitable<> serve_intercepted(const Authority& target);
    // mproxy's own resources (the CA certificate), answered without an origin.
    awaitable<bool> serve_local(const RequestHead& request, std::string_view path);
    static bool is_local_host(const Authority& authority);
    // Writes mproxy's own error response; returns true when the connection may continue.
    awaitable<bool> reply_error(unsigned status, std::string_view explanation, bool close);
    // Writes a response of mproxy's own, then closes gently when `close`; returns true when the
    // connection may continue.
    awaitable<bool> write_own_answer(const std::string& response, bool close);
    // The capture of the exchange about to be forwarded, when a capture policy covers it.
    // The capture of the exchange about to go to `origin`, begun; nullptr when none covers it.
    ExchangeCapture* start_capture(const Authority& origin);
    // Hands the capture's record to the store and the capture back to the worker.
    void submit_capture(const CaptureRecord& record);
    // An origin connection for `origin`: the one in hand, a pooled one, or a new one.
    awaitable<std::optional<HttpFailure>> obtain_upstream(const TunnelOrigin& origin);
    // Ends the connection without a reset that could destroy a response the client has not read.
    awaitable<> close_gently();
    void on_deadline();

    Worker& worker_;
    TcpStream client_;
    ByteStream* client_io_ = &client_;  // what HTTP is read from: the TCP stream, or TLS over it
    beast::flat_buffer buffer_;
    std::string client_address_;  // before record_ and flow_, which are made from it
    asio::ip::address client_ip_;
    std::unique_ptr<ConnectionRecord> record_;
    FlowRecorder flow_;
    RuleOptions options_;  // of the rule that decided the CONNECT, or the current plain request
    Deadline deadline_;
    std::unique_ptr<UpstreamConnection> upstream_;
    std::unique_ptr<ExchangeCapture> capture_;  // the worker's, lent for a captured exchange
    Authority current_target_;
    std::unique_ptr<ByteStream> client_tls_;  // TLS over client_, once a mitm handshake succeeded
    // What obtain_upstream spent on a new origin connection, for the capture; -1: not done.
    std::int64_t connect_us_ = -1, tls_us_ = -1;
    bool upstream_busy_ = false;  // waiting on the origin side: a timeout cuts that side only
    bool pinned_upstream_ = false;  // inside an http CONNECT: keep the origin connection, no pool
    bool idle_ = false;
    asio::steady_timer lifetime_;  // --max-connection-lifetime
};

}  // namespace mproxy::proxy
