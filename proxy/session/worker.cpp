#include "proxy/session/worker.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <boost/asio/write.hpp>

#include "proxy/http1/error_response.hpp"
#include "proxy/session/client_session.hpp"

namespace mproxy::proxy {

namespace {
// Over a connection limit: a 503 saying which, then the connection closes. Nothing is read.
awaitable<> refuse_connection(Worker& worker, tcp::socket socket, Admission why,
                              std::string client) {
    worker.metrics().connection_refused(why);
    spdlog::warn("connection from {} refused: over the {} limit", client, to_string(why));
    const auto response = make_error_response(
        503,
        why == Admission::over_max_connections
            ? "too many connections to this proxy (--max-connections)"
            : "too many connections from your address (--max-connections-per-client)",
        true);
    co_await asio::async_write(socket, asio::buffer(response), use_tuple);
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

// Whether a connection limit refuses this new connection (`client` then names it). Without count
// limits, the default, nothing is looked up: no registry lock, no address text per accept.
Admission check_limits(Worker& worker, const tcp::socket& socket, std::string& client) {
    const auto limits = worker.limits().get();
    if (limits.max_connections == 0 && limits.max_connections_per_client == 0)
        return Admission::admitted;
    error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const auto client_ip = ec ? std::string() : remote.address().to_string();
    const auto why =
        admit(limits, worker.registry().live(), worker.registry().live_from(client_ip));
    if (why != Admission::admitted)
        client = ec ? std::string("unknown") : client_ip + ":" + std::to_string(remote.port());
    return why;
}

awaitable<> serve_connection(Worker& worker, tcp::socket socket) {
    std::string client;
    if (const auto why = check_limits(worker, socket, client); why != Admission::admitted) {
        co_await refuse_connection(worker, std::move(socket), why, client);
        co_return;
    }
    ClientSession session(worker, std::move(socket));
    co_await session.run();
}

void log_unexpected(std::exception_ptr error) {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("session ended by an unexpected error: {}", e.what());
    }
}
}  // namespace

Worker::Worker(const SessionConfig& config, ConnectionRegistry& registry, const LoopGuard& loop_guard,
               TlsInterception& interception, const RuleBook& rules, FlowLog& flows,
               ProxyMetrics& metrics, const LiveLimits& limits, CaptureStore* captures)
    : work_(context_.get_executor()),
      config_(config),
      registry_(registry),
      loop_guard_(loop_guard),
      interception_(interception),
      rules_(rules),
      flows_(flows),
      metrics_(metrics),
      limits_(limits),
      captures_(captures),
      pool_(context_.get_executor(), config.upstream_idle_per_host, config.upstream_idle_expiry) {}

void Worker::run() {
    asio::co_spawn(context_, pool_.sweep(), log_unexpected);
    context_.run();
}

void Worker::stop() {
    asio::post(context_, [this] {
        for (auto* session : sessions_) session->abort();
        pool_.close();
        work_.reset();
    });
}

void Worker::abort_session(std::uint64_t connection_id) {
    for (auto* session : sessions_)
        if (session->connection_id() == connection_id) {
            session->abort();
            return;
        }
}

void Worker::drain() {
    asio::post(context_, [this] {
        draining_ = true;
        for (auto* session : sessions_)
            if (session->idle()) session->abort();
    });
}

void Worker::serve(tcp::socket socket) {
    asio::co_spawn(context_, serve_connection(*this, std::move(socket)), log_unexpected);
}

}  // namespace mproxy::proxy
