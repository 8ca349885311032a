#pragma once
// Idle origin connections kept for reuse, keyed by host:port. One pool per worker thread, touched
// only from that thread, so it takes no lock. A connection enters the pool only after an exchange
// that completed cleanly in both directions.

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/upstream/upstream_connection.hpp"

namespace mproxy::proxy {

class UpstreamPool {
public:
    UpstreamPool(const asio::any_io_executor& executor, std::size_t idle_per_host,
                 steady_clock::duration idle_expiry);

    // A live idle connection for `key`, or null. Connections the origin closed while they sat
    // idle are dropped here.
    std::unique_ptr<UpstreamConnection> acquire(const UpstreamKey& key);
    void release(std::unique_ptr<UpstreamConnection> connection);

    // Periodically drops expired and dead connections; runs until close().
    awaitable<> sweep();
    void close();
    std::size_t idle() const;

private:
    struct Idle {
        std::unique_ptr<UpstreamConnection> connection;
        steady_clock::time_point since;
    };
    bool usable(const Idle& idle, steady_clock::time_point now) const;

    struct KeyHash {
        std::size_t operator()(const UpstreamKey& k) const {
            return std::hash<std::string>{}(k.authority.host) ^
                   ((std::size_t{k.authority.port} * 2 + k.tls) * 0x9e3779b97f4a7c15ULL);
        }
    };
    std::unordered_map<UpstreamKey, std::deque<Idle>, KeyHash> idle_;
    const std::size_t idle_per_host_;
    const steady_clock::duration idle_expiry_;
    asio::steady_timer sweep_timer_;
    bool closed_ = false;
};

}  // namespace mproxy::proxy
