#include "proxy/worker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "proxy/client_session.hpp"

namespace mproxy::proxy {

namespace {
awaitable<> serve_connection(Worker& worker, tcp::socket socket) {
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

Worker::Worker(const ProxyConfig& config, ConnectionRegistry& registry, const LoopGuard& loop_guard,
               TlsInterception& interception, const RuleBook& rules, FlowLog& flows, ProxyMetrics& metrics)
    : work_(context_.get_executor()),
      config_(config),
      registry_(registry),
      loop_guard_(loop_guard),
      interception_(interception),
      rules_(rules),
      flows_(flows),
      metrics_(metrics),
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

void Worker::serve(tcp::socket socket) {
    asio::co_spawn(context_, serve_connection(*this, std::move(socket)), log_unexpected);
}

}  // namespace mproxy::proxy
