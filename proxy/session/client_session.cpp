#include "proxy/session/client_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

#include "proxy/capture/capture_store.hpp"
#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http1/error_response.hpp"
#include "proxy/http1/head_parser.hpp"
#include "proxy/http1/head_reader.hpp"
#include "proxy/net/tls_stream.hpp"
#include "proxy/session/exchange.hpp"
#include "proxy/session/exchange_log.hpp"
#include "proxy/session/worker.hpp"
#include "proxy/tls/tls_interception.hpp"
#include "proxy/upstream/origin_tls_failure.hpp"
#include "proxy/upstream/upstream_connector.hpp"

namespace mproxy::proxy {

namespace {
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t max_response_head_bytes = 256 * 1024;

std::string endpoint_text(const tcp::socket& socket, asio::ip::address& ip) {
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return "unknown";
    ip = remote.address();
    return Authority{remote.address().to_string(), remote.port()}.to_string();
}

// Host header for an origin: the port is left out when it is the scheme's default.
std::string host_header(const Authority& origin) {
    if (origin.port == 80) {
        auto text = origin.to_string();
        return text.substr(0, text.rfind(':'));
    }
    return origin.to_string();
}
}  // namespace

namespace {
std::unique_ptr<ConnectionRecord> open_record(Worker& worker, const tcp::socket& socket,
                                              std::string& address, asio::ip::address& ip) {
    address = endpoint_text(socket, ip);
    // CloseConnection comes from a control-plane thread: the session is ended on its own.
    return worker.registry().open(address, ip.to_string(), [&worker](std::uint64_t id) {
        asio::post(worker.context(), [&worker, id] { worker.abort_session(id); });
    });
}
}  // namespace

ClientSession::ClientSession(Worker& worker, tcp::socket socket)
    : worker_(worker),
      client_(std::move(socket)),
      record_(open_record(worker, client_.socket(), client_address_, client_ip_)),
      flow_(worker.flows(), record_->id(), client_address_),
      deadline_(worker.context().get_executor()),
      lifetime_(worker.context().get_executor()) {
    client_.count_into(&record_->counters().client_rx, &record_->counters().client_tx);
    worker_.sessions_.insert(this);
    flow_.connection_opened();
}

void ClientSession::set_mode(ConnectionMode mode) {
    record_->set_mode(mode);
    flow_.set_mode(mode);
}

ClientSession::~ClientSession() {
    worker_.sessions_.erase(this);
}

void ClientSession::abort() {
    client_.close();
    if (upstream_) upstream_->io().close();
}

void ClientSession::on_deadline() {
    // In an exchange the origin side is cut, so the exchange can still tell the client (504).
    if (upstream_busy_ && upstream_) {
        upstream_->io().close();
        return;
    }
    client_.close();
    if (upstream_) upstream_->io().close();
}

awaitable<> ClientSession::run() {
    spdlog::debug("conn={} accepted from {}", record_->id(), client_address_);
    if (const auto lifetime = worker_.limits().get().max_connection_lifetime;
        lifetime.count() > 0) {
        lifetime_.expires_after(lifetime);
        // The handler checks the error before touching the session: cancelled (the session ended
        // first) means the session may already be gone.
        lifetime_.async_wait([this](error_code ec) {
            if (ec) return;
            spdlog::info("conn={} closed: it reached the connection lifetime limit", record_->id());
            worker_.metrics().lifetime_reached();
            abort();
        });
    }
    co_await (serve_requests(std::nullopt) || deadline_.watch([this] { on_deadline(); }));
    lifetime_.cancel();
    flow_.connection_closed(record_->counters(), {});
    spdlog::debug("conn={} closed: client_rx={} client_tx={} upstream_rx={} upstream_tx={}",
                  record_->id(), record_->counters().client_rx.load(),
                  record_->counters().client_tx.load(), record_->counters().upstream_rx.load(),
                  record_->counters().upstream_tx.load());
}

awaitable<> ClientSession::serve_requests(const std::optional<TunnelOrigin>& tunnel_origin) {
    const auto& config = worker_.config();
    for (;;) {
        if (worker_.draining()) co_return;  // shutting down: no new request on this connection
        if (buffer_.size() == 0) {
            // Between requests an idle connection holds no buffer, only its socket.
            buffer_.shrink_to_fit();
            deadline_.expires_after(config.idle_timeout);
            idle_ = true;
            const auto ended = co_await client_io_->wait_readable();
            idle_ = false;
            if (ended) co_return;
        }
        deadline_.expires_after(config.header_timeout);
        const auto head = co_await read_head(*client_io_, buffer_, config.max_header_bytes);
        switch (head.status) {
            case HeadRead::Status::ok:
                break;
            case HeadRead::Status::too_large:
                co_await reply_error(431,
                                     "request head larger than " +
                                         std::to_string(config.max_header_bytes) + " bytes",
                                     true);
                co_return;
            case HeadRead::Status::failed:
                if (deadline_.expired())
                    spdlog::info(
                        "conn={} closed: no complete request head within the header timeout",
                        record_->id());
                co_return;
            case HeadRead::Status::closed:
            case HeadRead::Status::truncated:
                co_return;
        }
        auto parsed = parse_request_head(head.head(buffer_));
        buffer_.consume(head.head_size);
        if (auto* failure = std::get_if<HttpFailure>(&parsed)) {
            co_await reply_error(failure->status, failure->reason, true);
            co_return;
        }
        if (!co_await serve_request(std::move(std::get<RequestHead>(parsed)), tunnel_origin))
            co_return;
    }
}

awaitable<bool> ClientSession::serve_request(RequestHead request,
                                             const std::optional<TunnelOrigin>& tunnel_origin) {
    if (request.method == "CONNECT") {
        if (tunnel_origin)
            co_return co_await reply_error(400, "CONNECT inside a CONNECT tunnel is not supported",
                                           true);
        co_await serve_connect(request);
        co_return false;
    }
    auto framing = request_body_framing(request);
    if (auto* failure = std::get_if<HttpFailure>(&framing))
        co_return co_await reply_error(failure->status, failure->reason, true);

    if (auto absolute = parse_http_absolute_target(request.target)) {
        if (tunnel_origin && absolute->authority != tunnel_origin->authority)
            co_return co_await reply_error(
                400, "absolute URI names another host than the CONNECT tunnel", true);
        if (!tunnel_origin && is_local_host(absolute->authority))
            co_return co_await serve_local(request, absolute->origin_form);
        if (!tunnel_origin) {
            const bool has_body = std::get<BodyFraming>(framing).kind != BodyFraming::Kind::none;
            if (auto answered =
                    co_await apply_rules_to_request(request, absolute->authority, has_body))
                co_return *answered;
        }
        request.target = std::move(absolute->origin_form);
        const TunnelOrigin origin = tunnel_origin
                                        ? *tunnel_origin
                                        : TunnelOrigin{std::move(absolute->authority), false, {}};
        co_return co_await forward(std::move(request), std::get<BodyFraming>(framing), origin,
                                   true);
    }
    if (!request.target.empty() && request.target.front() == '/') {
        if (tunnel_origin)
            co_return co_await forward(std::move(request), std::get<BodyFraming>(framing),
                                       *tunnel_origin, false);
        if (request.target == "/ca.pem") co_return co_await serve_local(request, request.target);
        co_return co_await reply_error(400,
                                       "this is a proxy: send requests in absolute form "
                                       "(http://host/path), or CONNECT for https",
                                       true);
    }
    if (request.target.starts_with("https://") || request.target.starts_with("HTTPS://"))
        co_return co_await reply_error(
            400, "https:// targets go through CONNECT, not as plain proxy requests", true);
    co_return co_await reply_error(400, "unsupported request target " + request.target, true);
}

ExchangeCapture* ClientSession::start_capture(const Authority& origin) {
    auto* store = worker_.captures();
    if (!store) return nullptr;
    const auto mode = flow_.mode();
    if (mode != ConnectionMode::plain && mode != ConnectionMode::http &&
        mode != ConnectionMode::mitm)
        return nullptr;
    const auto& policy = options_.capture ? *options_.capture : worker_.config().capture;
    if (!policy.enabled) return nullptr;
    capture_ = worker_.capture_pool().take();
    capture_->begin(policy, CaptureStart{.flow_id = flow_.flow_id(),
                                         .connection_id = record_->id(),
                                         .started = std::chrono::system_clock::now(),
                                         .client = client_address_,
                                         .mode = mode,
                                         .host = origin.host,
                                         .port = origin.port});
    return capture_.get();
}

void ClientSession::submit_capture(const CaptureRecord& record) {
    worker_.captures()->submit(record);
    worker_.capture_pool().give_back(std::move(capture_));
}

namespace {
std::int64_t micros_since(steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - since)
        .count();
}
}  // namespace

awaitable<std::optional<HttpFailure>> ClientSession::obtain_upstream(const TunnelOrigin& origin) {
    connect_us_ = tls_us_ = -1;
    const UpstreamKey key{origin.authority, origin.tls};
    if (upstream_ && upstream_->key == key && upstream_->io().is_open()) co_return std::nullopt;
    // The TCP connection a mitm CONNECT opened before its 200 becomes the TLS one.
    const bool upgrade_in_hand =
        upstream_ && origin.tls && !upstream_->secure && upstream_->exchanges == 0 &&
        upstream_->key.authority == origin.authority && upstream_->io().is_open();
    if (!upgrade_in_hand) {
        upstream_.reset();
        if (!pinned_upstream_) upstream_ = worker_.pool().acquire(key);
        if (upstream_) {
            upstream_->tcp.count_into(&record_->counters().upstream_rx,
                                      &record_->counters().upstream_tx);
            co_return std::nullopt;
        }
        deadline_.expires_never();  // the connector has its own timeout
        const auto connect_began = steady_clock::now();
        auto connected = co_await connect_upstream(
            origin.authority, worker_.config().connect_timeout, worker_.loop_guard());
        connect_us_ = micros_since(connect_began);
        if (auto* failure = std::get_if<ConnectFailure>(&connected)) {
            worker_.metrics().upstream_connect_failed(failure->cause);
            co_return failure->answer;
        }
        upstream_ = std::move(std::get<std::unique_ptr<UpstreamConnection>>(connected));
        upstream_->tcp.count_into(&record_->counters().upstream_rx,
                                  &record_->counters().upstream_tx);
    }
    if (!origin.tls) co_return std::nullopt;

    auto& interception = worker_.interception();
    const bool verify = interception.verify_upstream_by_default() && !options_.upstream_insecure;
    auto tls = std::make_unique<TlsStream>(upstream_->tcp, interception.upstream_context(verify));
    // Verified and unverified sessions never mix: the key says which context made them.
    interception.origin_sessions().prepare(
        tls->native_handle(),
        (verify ? "v " : "u ") + origin.server_name + " " + origin.authority.to_string());
    upstream_busy_ = true;  // a handshake that hangs is cut on the origin side
    deadline_.expires_after(worker_.config().connect_timeout);
    const auto handshake_began = steady_clock::now();
    const auto ec = co_await tls->connect(origin.server_name, verify);
    tls_us_ = micros_since(handshake_began);
    upstream_busy_ = false;
    worker_.metrics().tls_handshake(TlsSide::upstream, !ec);
    if (ec) {
        const auto reason = deadline_.expired()
                                ? "TLS handshake with origin timed out"
                                : describe_origin_tls_failure(tls->native_handle(), ec);
        flow_.tls_failure(origin.authority, origin.server_name, true, reason);
        upstream_.reset();
        co_return HttpFailure{502, origin.authority.to_string() + ": " + reason};
    }
    spdlog::debug("conn={} TLS to origin {}: {} {}", record_->id(), origin.authority.to_string(),
                  SSL_get_version(tls->native_handle()),
                  SSL_session_reused(tls->native_handle()) ? "resumed" : "full handshake");
    upstream_->secure = std::move(tls);
    upstream_->key.tls = true;
    co_return std::nullopt;
}

awaitable<bool> ClientSession::forward(RequestHead request, BodyFraming framing,
                                       const TunnelOrigin& target, bool origin_from_uri) {
    const auto& origin = target.authority;
    flow_.request_head(request, origin);
    const bool has_body = framing.kind != BodyFraming::Kind::none;
    if (auto answered = co_await apply_max_forwards(request, has_body)) co_return *answered;
    if (options_.expect != ExpectPolicy::forward && has_body)
        if (auto answered = co_await apply_expect_policy(request, has_body)) co_return *answered;
    ForwardedRequest forwarded;
    forwarded.framing = framing;
    forwarded.websocket = is_websocket_upgrade(request);
    forwarded.client_keep_alive = keeps_alive(request.fields, request.version_minor);
    forwarded.client_version_minor = request.version_minor;
    strip_hop_by_hop(request.fields, forwarded.websocket);
    // RFC 9112 section 3.2.2: the target URI's authority wins over a received Host. And an
    // HTTP/1.0 client may leave Host out, which the HTTP/1.1 request made of it may not.
    if (origin_from_uri) request.fields.remove("host");
    if (!request.fields.find("host"))
        request.fields.all().insert(request.fields.all().begin(),
                                    HeaderField{"Host", host_header(origin)});
    request.fields.add("Via", std::string(via_value));
    // RFC 9110 section 2.5: an intermediary forwards in its own version, whatever the client's.
    request.version_minor = 1;
    forwarded.head = std::move(request);
    if (origin != current_target_) {  // the registry's lock once per origin, not per request
        current_target_ = origin;
        record_->set_target(origin.to_string());
    }

    const auto& config = worker_.config();
    const ExchangeLimits limits{config.idle_timeout, max_response_head_bytes};
    auto capture = start_capture(origin);
    const auto mode_before = flow_.mode();
    for (int attempt = 0;; ++attempt) {
        if (auto failure = co_await obtain_upstream(target)) {
            ExchangeLog::connect_failed(record_->id(), forwarded.head, origin, failure->reason);
            flow_.answered(failure->status, failure->reason);
            if (capture) {
                capture->request_sent(forwarded.head);
                capture->connected(connect_us_, tls_us_, {});
                submit_capture(capture->finish_answered(failure->status, failure->reason));
            }
            co_return co_await reply_error(failure->status, failure->reason,
                                           framing.kind != BodyFraming::Kind::none);
        }
        if (forwarded.websocket) set_mode(ConnectionMode::websocket);
        upstream_busy_ = true;
        if (capture) capture->connected(connect_us_, tls_us_, upstream_->address());
        auto outcome = co_await run_exchange(*client_io_, buffer_, *upstream_, forwarded, deadline_,
                                             limits, &flow_, capture);
        upstream_busy_ = false;
        if (outcome.retry_on_fresh_connection && attempt == 0) {
            upstream_.reset();
            if (capture) capture->reset_attempt();
            continue;
        }
        // A refused upgrade leaves the connection what it was (and captured as such).
        if (forwarded.websocket && !outcome.upgraded) set_mode(mode_before);
        ConnectionCounters::add(record_->counters().exchanges, 1);
        ExchangeLog::exchange_done(record_->id(), forwarded.head, origin, outcome);
        worker_.metrics().exchange_done(outcome);
        flow_.exchange_done(outcome);
        if (capture) submit_capture(capture->finish(outcome));

        if (outcome.upstream_reusable) {
            ++upstream_->exchanges;
            if (!pinned_upstream_) worker_.pool().release(std::move(upstream_));
        } else {
            upstream_.reset();
        }
        if (outcome.client_reusable) co_return true;
        if (client_io_->is_open()) co_await close_gently();
        co_return false;
    }
}

}  // namespace mproxy::proxy
