#pragma once
// The data plane as one object: a listener, one io_context per worker thread, and the shared
// registry of live connections. mproxyd and the tests run it the same way.

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "proxy/accounting/connection_registry.hpp"
#include "proxy/accounting/proxy_metrics.hpp"
#include "proxy/flows/flow_log.hpp"
#include "proxy/proxy_config.hpp"
#include "proxy/rules/rule_set.hpp"

namespace mproxy::proxy {

class CaptureStore;
class TlsInterception;

class ProxyServer {
public:
    explicit ProxyServer(ProxyConfig config);
    ~ProxyServer();  // stop()
    ProxyServer(const ProxyServer&) = delete;
    ProxyServer& operator=(const ProxyServer&) = delete;

    // Binds the listener and starts the worker threads. Throws std::system_error when the address
    // cannot be bound (taken port, bad address).
    void start();
    // Stops accepting, closes every connection, joins the threads. Idempotent.
    void stop();
    // Graceful: stops accepting, ends idle connections, lets the others finish their current
    // exchange (then they close) for up to `timeout`. True when none is left; call stop() after.
    bool drain(std::chrono::milliseconds timeout);
    // Connection limits for new connections (a configuration reload).
    void set_limits(const ConnectionLimits& limits);
    ConnectionLimits limits() const;

    boost::asio::ip::tcp::endpoint endpoint() const;
    ConnectionRegistry& connections();
    // The CA and leaf minter (rotate, import, cache statistics). Loads or creates the CA on first
    // use; start() does so too, so that a bad CA stops the proxy before it listens.
    TlsInterception& interception();
    // The interception rules in force; publish a new set to change them (from any thread).
    RuleBook& rules();
    FlowLog& flows();
    // The intercepted exchanges kept on disk; nullptr without a state directory (or with
    // capture_store off). Opened by start().
    CaptureStore* captures();
    // Totals and distributions for /metrics (per-connection counters are in connections()).
    const ProxyMetrics& metrics() const;
    const ProxyConfig& config() const;
    std::chrono::system_clock::time_point started() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mproxy::proxy
