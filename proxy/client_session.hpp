#pragma once
// One client connection, read as RFC 9112 describes it: read a request head, decide, and hand the
// request to the exchange engine (or a CONNECT to a tunnel), then loop while keep-alive holds.

#include <memory>
#include <optional>
#include <string>

#include "proxy/authority.hpp"
#include "proxy/body_framing.hpp"
#include "proxy/connection_registry.hpp"
#include "proxy/deadline.hpp"
#include "proxy/tcp_stream.hpp"
#include "proxy/upstream_connection.hpp"

namespace mproxy::proxy {

class Worker;

class ClientSession {
public:
    ClientSession(Worker& worker, tcp::socket socket);
    ~ClientSession();
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    awaitable<> run();
    // Ends the session from its own thread (shutdown): closes both sides.
    void abort();

private:
    // Serves requests until the connection should end. Inside an `http` CONNECT tunnel every
    // request goes to `tunnel_origin`.
    awaitable<> serve_requests(const std::optional<Authority>& tunnel_origin);
    // Returns true when the connection may carry another request.
    awaitable<bool> serve_request(RequestHead request, const std::optional<Authority>& tunnel_origin);
    awaitable<bool> forward(RequestHead request, BodyFraming framing, Authority origin, bool origin_from_uri);
    awaitable<> serve_connect(const RequestHead& request);
    // Writes mproxy's own error response; returns true when the connection may continue.
    awaitable<bool> reply_error(unsigned status, std::string_view explanation, bool close);
    // An origin connection for `origin`: the one in hand, a pooled one, or a new one.
    awaitable<std::optional<HttpFailure>> obtain_upstream(const Authority& origin);
    // Ends the connection without a reset that could destroy a response the client has not read.
    awaitable<> close_gently();
    void on_deadline();

    Worker& worker_;
    TcpStream client_;
    beast::flat_buffer buffer_;
    std::unique_ptr<ConnectionRecord> record_;
    Deadline deadline_;
    std::unique_ptr<UpstreamConnection> upstream_;
    std::string client_address_;
    Authority current_target_;
    asio::ip::address client_ip_;
    bool exchange_running_ = false;
    bool pinned_upstream_ = false;  // inside an http CONNECT: keep the origin connection, no pool
};

}  // namespace mproxy::proxy
