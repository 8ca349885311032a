#pragma once
// The capture store: intercepted exchanges kept on disk in SQLite (WAL mode) within a byte budget
// and an optional age, the oldest evicted first. One writer thread owns the writes and commits
// what the data plane handed over in batches, one transaction each; the data plane only ever
// appends its encoded records to a bounded byte queue (a copy into one buffer: nothing allocated
// on one thread is freed on the other), and when the writer falls behind, new captures are dropped
// and counted, never waited for. Readers (the control plane) use a connection of their own, which
// WAL lets run beside the writer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/capture/capture_record.hpp"
#include "proxy/capture/captured_exchange.hpp"

struct sqlite3;

namespace mproxy::proxy {

struct CaptureStoreConfig {
    std::filesystem::path file;
    std::uint64_t max_bytes = std::uint64_t{1} << 30;  // what the kept exchanges may take, about
    std::chrono::seconds max_age{0};                   // 0: kept until the budget needs the room
    std::size_t max_queued_bytes = 64 << 20;           // captures waiting for the writer
};

struct CaptureQuery {
    std::uint64_t before_id = 0;  // exchanges with a smaller flow id; 0: from the newest
    std::uint64_t after_id = 0;   // with oldest_first: exchanges with a larger flow id
    bool oldest_first = false;    // ascending flow ids (an export), else descending (a listing)
    std::optional<std::chrono::system_clock::time_point> since, until;  // started in [since, until)
    std::size_t limit = 100;
};

struct CaptureStoreStats {
    std::uint64_t stored = 0;
    std::uint64_t truncated_bodies = 0;    // bodies kept only up to their cap
    std::uint64_t dropped_queue_full = 0;  // the writer was behind
    std::uint64_t dropped_disk_full = 0;   // the disk (or the file system) refused the write
    std::uint64_t dropped_write_error = 0;
    std::uint64_t evicted = 0;      // removed for the budget or the age
    std::uint64_t bytes = 0;        // what the kept exchanges count against the budget
    std::uint64_t queued = 0;       // waiting for the writer now
    double writer_lag_seconds = 0;  // how long the oldest queued capture has waited
    bool disk_full = false;         // the last write failed for want of space
};

class CaptureStore {
  public:
    // Opens the store, creating it when absent. A file that is not a database, or is corrupt, is
    // moved aside (a warning says where) and a new store started. Throws std::runtime_error naming
    // the path when the directory cannot hold the store.
    explicit CaptureStore(CaptureStoreConfig config);
    // Commits what is still queued, then stops the writer.
    ~CaptureStore();
    CaptureStore(const CaptureStore&) = delete;
    CaptureStore& operator=(const CaptureStore&) = delete;

    // Any thread; never waits for the disk. False when the capture was dropped (queue full).
    bool submit(const CaptureRecord& record);
    // Waits until everything submitted before the call is committed (or dropped).
    void flush();

    // The exchange with this flow id, bodies included when asked; nullopt when not kept. Each
    // body's `stored` says how many bytes the store keeps of it either way.
    std::optional<CapturedExchange> get(std::uint64_t flow_id, bool with_bodies = true) const;
    // One body's kept bytes (empty when none are kept).
    std::string body(std::uint64_t flow_id, bool response) const;
    // Kept exchanges in the query's order, without body bytes (but with `stored`), those `keep`
    // accepts, at most query.limit.
    std::vector<CapturedExchange> list(
        const CaptureQuery& query,
        const std::function<bool(const CapturedExchange&)>& keep = {}) const;
    // The largest flow id kept (0 when none).
    std::uint64_t newest_id() const;

    CaptureStoreStats stats() const;
    const std::filesystem::path& file() const { return config_.file; }
    // Where a corrupt file found at open was moved; empty when none was.
    const std::filesystem::path& moved_aside() const { return moved_aside_; }

  private:
    struct Writer;

    void write_loop();

    CaptureStoreConfig config_;
    std::filesystem::path moved_aside_;
    std::unique_ptr<Writer> writer_;  // the writer thread's connection and statements
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> reader_;
    mutable std::mutex reader_mutex_;

    mutable std::mutex mutex_;
    std::condition_variable wake_, flushed_;
    std::string queue_;  // records one after another (queued_records.hpp), oldest first
    std::size_t queued_ = 0;  // records in queue_
    std::chrono::steady_clock::time_point oldest_queued_;
    std::uint64_t submitted_ = 0, settled_ = 0;  // captures handed over / committed or dropped
    bool stopping_ = false;
    CaptureStoreStats stats_;  // under mutex_
    std::thread thread_;
};

}  // namespace mproxy::proxy
