#pragma once
// The live client connections: who is connected, where to, in which mode, and their counters.
// The control plane and the metrics collector read snapshots of it; sessions register on accept and
// update target and mode as they learn them.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/connection_stats.hpp"

namespace mproxy::proxy {

enum class ConnectionMode { plain, tunnel, http, mitm, websocket, rejected };
std::string_view to_string(ConnectionMode mode);

struct ConnectionSnapshot {
    std::uint64_t id = 0;
    std::string client;  // "ip:port"
    std::string target;  // "host:port" of the last origin, empty before the first request
    ConnectionMode mode = ConnectionMode::plain;
    std::chrono::system_clock::time_point started;
    std::uint64_t client_rx = 0, client_tx = 0, upstream_rx = 0, upstream_tx = 0, exchanges = 0;
};

class ConnectionRegistry;

// One live connection's entry. Counters are lock-free; target and mode take the registry lock,
// which happens once per request at most.
class ConnectionRecord {
public:
    ConnectionRecord(ConnectionRegistry& registry, std::uint64_t id, std::string client);
    ~ConnectionRecord();  // deregisters
    ConnectionRecord(const ConnectionRecord&) = delete;
    ConnectionRecord& operator=(const ConnectionRecord&) = delete;

    std::uint64_t id() const { return id_; }
    ConnectionCounters& counters() { return counters_; }
    void set_target(std::string target);
    void set_mode(ConnectionMode mode);

private:
    friend class ConnectionRegistry;
    ConnectionSnapshot snapshot_locked() const;  // caller holds the registry lock

    ConnectionRegistry& registry_;
    const std::uint64_t id_;
    const std::string client_;
    const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
    ConnectionCounters counters_;
    std::string target_;  // guarded by registry_.mutex_
    ConnectionMode mode_ = ConnectionMode::plain;
};

class ConnectionRegistry {
public:
    // The record lives as long as the session holds it; destroying it removes the entry.
    std::unique_ptr<ConnectionRecord> open(std::string client_address);

    std::vector<ConnectionSnapshot> snapshot() const;
    std::size_t live() const;
    std::uint64_t opened_total() const;

private:
    friend class ConnectionRecord;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, ConnectionRecord*> live_;
    std::uint64_t next_id_ = 1;
};

}  // namespace mproxy::proxy
