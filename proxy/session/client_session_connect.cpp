// ClientSession's CONNECT: the rule decision, then the origin reached before the client hears 200,
// then a raw tunnel, cleartext HTTP inside the tunnel, or TLS interception (the ClientHello read
// first for the name to mint a leaf for). The exchanges inside go back to serve_requests.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "proxy/http1/head_reader.hpp"
#include "proxy/net/tls_stream.hpp"
#include "proxy/session/client_session.hpp"
#include "proxy/session/tunnel.hpp"
#include "proxy/session/worker.hpp"
#include "proxy/tls/client_hello.hpp"
#include "proxy/tls/tls_interception.hpp"
#include "proxy/upstream/origin_tls_failure.hpp"

namespace mproxy::proxy {

awaitable<> ClientSession::serve_connect(const RequestHead& request) {
    const auto target = parse_connect_authority(request.target);
    if (!target) {
        co_await reply_error(400, "CONNECT needs a host:port target", true);
        co_return;
    }
    record_->set_target(target->to_string());
    const auto rules = worker_.rules().snapshot();
    const auto decision = rules->decide(*target, client_ip_);
    spdlog::info("conn={} CONNECT {} -> {} ({})", record_->id(), target->to_string(),
                 to_string(decision.action), decision.reason);
    flow_.decision(*target, decision, request.method);
    options_ = decision.options;
    if (decision.action == ConnectAction::reject) {
        set_mode(ConnectionMode::rejected);
        worker_.metrics().rejected(decision.rule_id);
        // Named, not a temporary inside co_await (GCC 12 destroys those twice).
        const auto message = decision.reject_message.empty()
                                 ? "CONNECT to " + target->to_string() + " refused by policy (" +
                                       decision.reason + ")"
                                 : decision.reject_message;
        co_await reply_error(decision.reject_status, message, true);
        co_return;
    }
    // The origin is reached before the client hears 200, so that an unreachable one gets a 502.
    // An intercepted connection learns from the ClientHello whether TLS is needed towards it.
    // (Named, not a braced temporary: GCC 12 destroys braced temporaries in co_await twice.)
    const TunnelOrigin plain_origin{*target, false, {}};
    if (auto failure = co_await obtain_upstream(plain_origin)) {
        spdlog::warn("conn={} CONNECT {} failed: {}", record_->id(), target->to_string(),
                     failure->reason);
        co_await reply_error(failure->status, failure->reason, true);
        co_return;
    }
    static constexpr std::string_view established = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (auto [ec, n] = co_await client_.write(asio::buffer(established)); ec) co_return;

    pinned_upstream_ = decision.action != ConnectAction::tunnel;
    if (decision.action == ConnectAction::http) {
        set_mode(ConnectionMode::http);
        co_await serve_requests(plain_origin);
        co_return;
    }
    if (decision.action == ConnectAction::mitm) {
        co_await serve_intercepted(*target);
        co_return;
    }
    set_mode(ConnectionMode::tunnel);
    const auto tunnel = co_await run_tunnel(client_, buffer_, upstream_->io(), upstream_->buffer,
                                            deadline_, worker_.config().idle_timeout);
    ConnectionCounters::add(record_->counters().exchanges, 1);
    spdlog::info("conn={} tunnel {} closed: client->upstream={} upstream->client={}{}{}",
                 record_->id(), target->to_string(), tunnel.client_to_upstream,
                 tunnel.upstream_to_client, tunnel.error.empty() ? "" : " error: ", tunnel.error);
}

awaitable<> ClientSession::serve_intercepted(const Authority& target) {
    // Peek at what the client sends first: a TLS ClientHello tells the name to mint a leaf for.
    deadline_.expires_after(worker_.config().header_timeout);
    ClientHelloInfo hello;
    auto status = inspect_client_hello(buffered_bytes(buffer_), hello);
    while (status == HelloStatus::need_more) {
        auto [ec, n] = co_await client_.read_some(buffer_.prepare(16 * 1024));
        buffer_.commit(n);
        if (ec) co_return;
        status = inspect_client_hello(buffered_bytes(buffer_), hello);
    }
    if (status == HelloStatus::not_tls) {
        set_mode(ConnectionMode::http);
        const TunnelOrigin cleartext{target, false, {}};
        co_await serve_requests(cleartext);
        co_return;
    }
    if (status == HelloStatus::malformed) {
        spdlog::warn("conn={} CONNECT {}: malformed TLS ClientHello, closing", record_->id(),
                     target.to_string());
        co_return;
    }
    set_mode(ConnectionMode::mitm);
    const std::string name = hello.server_name.empty() ? target.host : hello.server_name;
    std::shared_ptr<const MintedLeaf> leaf;
    try {
        leaf = co_await worker_.interception().leaf_for(name);
    } catch (const std::exception& e) {
        // A name no certificate can carry (a wildcard, a bad character) or an OpenSSL failure.
        spdlog::warn("conn={} CONNECT {}: no certificate for \"{}\": {}", record_->id(),
                     target.to_string(), name, e.what());
        flow_.tls_failure(target, name, false,
                          std::string("no certificate for this name: ") + e.what());
        worker_.metrics().tls_handshake(TlsSide::client, false);
        co_return;
    }

    auto tls = std::make_unique<TlsStream>(client_, leaf->server_context);
    const auto ec = co_await tls->accept(buffer_.data());
    buffer_.consume(buffer_.size());  // the handshake took the ClientHello bytes
    worker_.metrics().tls_handshake(TlsSide::client, !ec);
    if (ec) {
        flow_.tls_failure(target, name, false,
                          client_refused_certificate(ec)
                              ? "client refused mproxy's certificate: " + ec.message()
                              : ec.message());
        if (client_refused_certificate(ec))
            spdlog::warn(
                "conn={} client refused mproxy's certificate for {} (CA not trusted, or a pinned "
                "key): "
                "tunnel this host instead of intercepting it",
                record_->id(), name);
        else
            spdlog::info("conn={} TLS handshake with client for {} failed: {}", record_->id(), name,
                         ec.message());
        co_return;
    }
    client_tls_ = std::move(tls);
    client_io_ = client_tls_.get();
    // TLS towards the origin starts with the first request, with the client's SNI.
    const TunnelOrigin intercepted{target, true, name};
    co_await serve_requests(intercepted);
}

}  // namespace mproxy::proxy
