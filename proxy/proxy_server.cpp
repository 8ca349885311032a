#include "proxy/proxy_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <optional>
#include <thread>

#include "proxy/capture/capture_store.hpp"
#include "proxy/flows/flow_id_reservation.hpp"
#include "proxy/session/worker.hpp"
#include "proxy/tls/tls_interception.hpp"

namespace mproxy::proxy {

struct ProxyServer::Impl {
    explicit Impl(ProxyConfig c)
        : config(std::move(c)),
          rules(std::get<std::shared_ptr<const RuleSet>>(RuleSet::compile({}, config.connect_action))),
          flows(config.flow_log_size) {}

    ProxyConfig config;
    RuleBook rules;
    FlowLog flows;
    std::optional<FlowIdReservation> flow_ids;  // while running with a state directory
    std::unique_ptr<CaptureStore> captures;     // opened by the first start() with a state directory
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
    ConnectionRegistry registry{RecentlyClosedPolicy{config.closed_connection_grace, config.closed_connection_limit}};
    ProxyMetrics metrics;
    LiveLimits limits{config.limits};
    LoopGuard loop_guard;
    std::unique_ptr<TlsInterception> interception;  // before the workers, which use it
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::thread> threads;
    std::unique_ptr<tcp::acceptor> acceptor;  // lives on workers[0]
    tcp::endpoint endpoint;
    bool running = false;

    std::mutex exit_mutex;
    std::condition_variable exit_cv;
    std::size_t exited = 0;

    awaitable<> accept_loop() {
        std::size_t next = 0;
        for (;;) {
            auto& worker = *workers[next++ % workers.size()];
            auto [ec, socket] = co_await acceptor->async_accept(worker.context(), use_tuple);
            if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
            if (ec) {
                // Out of descriptors, most likely: wait a little rather than spin.
                spdlog::warn("accept failed: {}", ec.message());
                asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
                co_await pause.async_wait(use_tuple);
                continue;
            }
            worker.serve(std::move(socket));
        }
    }
};

ProxyServer::ProxyServer(ProxyConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::start() {
    auto& s = *impl_;
    if (s.running) return;
    if (!s.interception) s.interception = std::make_unique<TlsInterception>(s.config);
    if (!s.config.state_dir.empty()) {
        std::error_code made;
        std::filesystem::create_directories(s.config.state_dir, made);
        if (made)
            throw std::runtime_error("state directory " + s.config.state_dir + ": " +
                                     made.message());
        s.flow_ids.emplace(std::filesystem::path(s.config.state_dir) / "flow-ids");
        s.flows.start_flow_ids_at(s.flow_ids->first());
        if (s.config.capture_store && !s.captures) {
            CaptureStoreConfig store;
            store.file = std::filesystem::path(s.config.state_dir) / "captures.db";
            store.max_bytes = s.config.capture_max_bytes;
            store.max_age = s.config.capture_max_age;
            s.captures = std::make_unique<CaptureStore>(std::move(store));
        }
    }
    const auto threads = std::max(1u, s.config.threads);
    for (unsigned i = 0; i < threads; ++i)
        s.workers.push_back(std::make_unique<Worker>(s.config, s.registry, s.loop_guard, *s.interception, s.rules, s.flows,
                                                     s.metrics, s.limits, s.captures.get()));

    error_code ec;
    const auto address = asio::ip::make_address(s.config.listen_host, ec);
    if (ec) throw std::system_error(ec, "invalid listen address " + s.config.listen_host);
    const tcp::endpoint wanted(address, s.config.listen_port);
    s.acceptor = std::make_unique<tcp::acceptor>(s.workers[0]->context());
    const auto where = "cannot listen on " + s.config.listen_host + ":" + std::to_string(s.config.listen_port);
    s.acceptor->open(wanted.protocol(), ec);
    if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) s.acceptor->bind(wanted, ec);
    if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::system_error(ec, where);
    s.endpoint = s.acceptor->local_endpoint();
    s.loop_guard = LoopGuard(s.endpoint);

    asio::co_spawn(s.workers[0]->context(), s.accept_loop(), [](std::exception_ptr e) {
        if (e) spdlog::error("accept loop ended unexpectedly");
    });
    for (auto& worker : s.workers) {
        s.threads.emplace_back([&s, w = worker.get()] {
            // splice(2) has no MSG_NOSIGNAL: a peer gone mid-splice must give EPIPE, not kill the
            // process. Blocked here, a SIGPIPE raised by this thread's system calls stays pending.
            sigset_t pipe_signal;
            sigemptyset(&pipe_signal);
            sigaddset(&pipe_signal, SIGPIPE);
            pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
            w->run();
            std::lock_guard lock(s.exit_mutex);
            ++s.exited;
            s.exit_cv.notify_all();
        });
    }
    s.running = true;
}

void ProxyServer::stop() {
    auto& s = *impl_;
    if (!s.running) return;
    s.running = false;
    asio::post(s.workers[0]->context(), [&s] {
        error_code ignored;
        s.acceptor->close(ignored);
    });
    for (auto& worker : s.workers) worker->stop();
    {
        // Sessions end promptly once their sockets close; anything still running after this
        // grace period (a name lookup, say) is abandoned with its io_context.
        std::unique_lock lock(s.exit_mutex);
        if (!s.exit_cv.wait_for(lock, std::chrono::seconds(3), [&] { return s.exited == s.workers.size(); }))
            for (auto& worker : s.workers) worker->context().stop();
    }
    for (auto& thread : s.threads) thread.join();
    s.threads.clear();
    s.acceptor.reset();
    s.workers.clear();
    if (s.flow_ids) {
        try {
            s.flow_ids->release(s.flows.last_flow_id());
        } catch (const std::exception& e) {
            // Harmless: the next run starts above the whole reserved block instead.
            spdlog::warn("{}", e.what());
        }
        s.flow_ids.reset();
    }
}

bool ProxyServer::drain(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (!s.running) return true;
    asio::post(s.workers[0]->context(), [&s] {
        error_code ignored;
        s.acceptor->close(ignored);  // new connections are refused by the kernel from now on
    });
    for (auto& worker : s.workers) worker->drain();
    // Called from the thread that handles signals, never an I/O thread: waiting here is fine.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (s.registry.live() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return s.registry.live() == 0;
}

void ProxyServer::set_limits(const ConnectionLimits& limits) { impl_->limits.set(limits); }
ConnectionLimits ProxyServer::limits() const { return impl_->limits.get(); }

tcp::endpoint ProxyServer::endpoint() const { return impl_->endpoint; }

ConnectionRegistry& ProxyServer::connections() { return impl_->registry; }
const ProxyMetrics& ProxyServer::metrics() const { return impl_->metrics; }

TlsInterception& ProxyServer::interception() {
    if (!impl_->interception) impl_->interception = std::make_unique<TlsInterception>(impl_->config);
    return *impl_->interception;
}

RuleBook& ProxyServer::rules() { return impl_->rules; }
CaptureStore* ProxyServer::captures() { return impl_->captures.get(); }

FlowLog& ProxyServer::flows() { return impl_->flows; }
const ProxyConfig& ProxyServer::config() const { return impl_->config; }
std::chrono::system_clock::time_point ProxyServer::started() const { return impl_->started; }

}  // namespace mproxy::proxy
