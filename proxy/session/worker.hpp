#pragma once
// One I/O thread's share of the proxy: its io_context, the client sessions living on it, and its
// pool of idle origin connections. Everything here is touched only from the worker's own thread,
// so sessions and the pool need no locks; other threads reach it by posting.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <unordered_set>

#include "proxy/accounting/connection_registry.hpp"
#include "proxy/accounting/proxy_metrics.hpp"
#include "proxy/capture/capture_pool.hpp"
#include "proxy/flows/flow_log.hpp"
#include "proxy/rules/rule_set.hpp"
#include "proxy/session/session_config.hpp"
#include "proxy/upstream/loop_guard.hpp"
#include "proxy/upstream/upstream_pool.hpp"

namespace mproxy::proxy {

class CaptureStore;
class ClientSession;
class TlsInterception;

class Worker {
public:
    Worker(const SessionConfig& config, ConnectionRegistry& registry, const LoopGuard& loop_guard,
           TlsInterception& interception, const RuleBook& rules, FlowLog& flows, ProxyMetrics& metrics,
           const LiveLimits& limits, CaptureStore* captures = nullptr);

    // Runs the io_context until stop(); call from the worker's thread.
    void run();
    // Any thread: ends every session and lets run() return.
    void stop();
    // Any thread: serve this accepted connection on this worker.
    void serve(tcp::socket socket);
    // Worker thread only: ends the session of this connection, if it is still here.
    void abort_session(std::uint64_t connection_id);
    // Any thread: from now on sessions end after their current exchange; idle ones end at once.
    void drain();
    bool draining() const { return draining_; }  // worker thread only

    asio::io_context& context() { return context_; }
    const SessionConfig& config() const { return config_; }
    ConnectionRegistry& registry() { return registry_; }
    const LoopGuard& loop_guard() const { return loop_guard_; }
    UpstreamPool& pool() { return pool_; }
    TlsInterception& interception() { return interception_; }
    const RuleBook& rules() const { return rules_; }
    FlowLog& flows() { return flows_; }
    ProxyMetrics& metrics() { return metrics_; }
    const LiveLimits& limits() const { return limits_; }
    // Where intercepted exchanges are kept; nullptr when nothing is (no state directory).
    CaptureStore* captures() const { return captures_; }
    CapturePool& capture_pool() { return capture_pool_; }

private:
    friend class ClientSession;  // registers itself so stop() can reach it
    // Declared first so it outlives the io_context, whose destruction may end suspended sessions.
    std::unordered_set<ClientSession*> sessions_;
    asio::io_context context_{1};
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    const SessionConfig& config_;
    ConnectionRegistry& registry_;
    const LoopGuard& loop_guard_;
    TlsInterception& interception_;
    const RuleBook& rules_;
    FlowLog& flows_;
    ProxyMetrics& metrics_;
    const LiveLimits& limits_;
    CaptureStore* const captures_;
    CapturePool capture_pool_;
    bool draining_ = false;
    UpstreamPool pool_;  // after the io_context: its sockets and timer go first
};

}  // namespace mproxy::proxy
