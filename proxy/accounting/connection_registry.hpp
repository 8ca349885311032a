#pragma once
// The live client connections: who is connected, where to, in which mode, and their counters.
// The control plane and the metrics collector read snapshots of it; sessions register on accept and
// update target and mode as they learn them.

#include <array>
#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/accounting/connection_stats.hpp"
#include "proxy/accounting/traffic_totals.hpp"

namespace mproxy::proxy {

enum class ConnectionMode { plain, tunnel, http, mitm, websocket, rejected };
inline constexpr std::size_t connection_mode_count = 6;
std::string_view to_string(ConnectionMode mode);

// Wire bytes in the order of ConnectionCounters: client_rx, client_tx, upstream_rx, upstream_tx.
using DirectionBytes = std::array<std::uint64_t, 4>;

// Per mode, monotonic: a connection enters plain when accepted and may move to another mode (a
// CONNECT decided, a WebSocket upgrade); moving leaves one mode and enters the other. Its bytes
// count towards the mode it was in when they passed.
struct ModeTotals {
    std::uint64_t entered = 0;
    std::uint64_t left = 0;  // moved to another mode, or closed: entered - left == active
    std::uint64_t active = 0;
    DirectionBytes bytes{};
};
using ModeTotalsByMode = std::array<ModeTotals, connection_mode_count>;

// How long, and how many, closed connections stay listed so that their last bytes are scraped.
struct RecentlyClosedPolicy {
    std::chrono::steady_clock::duration grace = std::chrono::seconds(30);
    std::size_t limit = 10'000;
};

struct ConnectionSnapshot {
    std::uint64_t id = 0;
    std::string client;     // "ip:port"
    std::string client_ip;  // the address alone, for grouping and CIDR filters
    std::string target;  // "host:port" of the last origin, empty before the first request
    ConnectionMode mode = ConnectionMode::plain;
    std::chrono::system_clock::time_point started;
    std::uint64_t client_rx = 0, client_tx = 0, upstream_rx = 0, upstream_tx = 0, exchanges = 0;
    bool closed = false;  // listed for its grace period after it closed
};

class ConnectionRegistry;

// One live connection's entry. Counters are lock-free; target and mode take the registry lock,
// which happens once per request at most.
class ConnectionRecord {
public:
    // How another thread ends this connection (CloseConnection): must only post to the connection's
    // own thread; it gets the connection's id.
    using Closer = std::function<void(std::uint64_t)>;

    ConnectionRecord(ConnectionRegistry& registry, std::uint64_t id, std::string client, std::string client_ip,
                     Closer closer);
    ~ConnectionRecord();  // deregisters and folds its counters into the registry's traffic totals
    ConnectionRecord(const ConnectionRecord&) = delete;
    ConnectionRecord& operator=(const ConnectionRecord&) = delete;

    std::uint64_t id() const { return id_; }
    ConnectionCounters& counters() { return counters_; }
    void set_target(std::string target);
    void set_mode(ConnectionMode mode);

private:
    friend class ConnectionRegistry;
    ConnectionSnapshot snapshot_locked() const;  // caller holds the registry lock
    DirectionBytes bytes() const;
    // Bytes since the record entered its current mode; caller holds the registry lock.
    DirectionBytes bytes_in_mode_locked() const;

    ConnectionRegistry& registry_;
    const std::uint64_t id_;
    const std::string client_;
    const std::string client_ip_;
    const Closer closer_;  // set before the record is visible to other threads
    const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    ConnectionCounters counters_;
    std::string target_;  // guarded by registry_.mutex_
    ConnectionMode mode_ = ConnectionMode::plain;
    DirectionBytes mode_baseline_{};  // counters when the current mode was entered; registry lock
};

class ConnectionRegistry {
public:
    explicit ConnectionRegistry(RecentlyClosedPolicy recently_closed = {});

    // The record lives as long as the session holds it; destroying it removes the entry.
    std::unique_ptr<ConnectionRecord> open(std::string client_address, std::string client_ip,
                                           ConnectionRecord::Closer closer = {});

    std::vector<ConnectionSnapshot> snapshot() const;
    std::size_t live() const;
    std::size_t live_from(const std::string& client_ip) const;  // live connections from this address
    std::uint64_t opened_total() const;

    // Asks the connection to close (it does so on its own thread, soon after). False: no such id.
    bool close(std::uint64_t id);
    // Closes every live connection the predicate selects; returns how many.
    std::size_t close_if(const std::function<bool(const ConnectionSnapshot&)>& select);

    // Bytes of connections already closed, by client address and by target.
    const TrafficTotals& closed_traffic() const { return closed_traffic_; }

    // Connections closed within the grace period, oldest first, with their final counters.
    std::vector<ConnectionSnapshot> recently_closed() const;
    ModeTotalsByMode mode_totals() const;

private:
    friend class ConnectionRecord;
    void retire_locked(const ConnectionRecord& record);  // a record's last act, under the lock
    void prune_recently_closed_locked(std::chrono::steady_clock::time_point now) const;

    mutable std::mutex mutex_;
    std::map<std::uint64_t, ConnectionRecord*> live_;
    std::uint64_t next_id_ = 1;
    TrafficTotals closed_traffic_;
    const RecentlyClosedPolicy recently_closed_policy_;
    struct Closed {
        std::chrono::steady_clock::time_point at;
        ConnectionSnapshot snapshot;
    };
    mutable std::deque<Closed> recently_closed_;  // pruned by readers too, hence mutable
    ModeTotalsByMode mode_totals_{};              // folded in when connections leave a mode
    std::unordered_map<std::string, std::size_t> live_by_client_;  // for the per-client limit
};

}  // namespace mproxy::proxy
