#include "proxy/capture/capture_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>

#include "proxy/capture/capture_codec.hpp"
#include "proxy/capture/queued_records.hpp"
#include "proxy/capture/sqlite_statement.hpp"

namespace mproxy::proxy {

namespace {

using Clock = std::chrono::system_clock;
using sqlite::Database;
using sqlite::exec;
using sqlite::is_corruption;
using sqlite::open_database;
using sqlite::Statement;

// Version 3 (PRAGMA user_version): the row is its id, start time, size, the detail record
// (capture_codec's format 3) and the kept bytes of each body; no index on the start time, whose
// order is the id's (ids are handed out as exchanges start), so a time bound is found by a binary
// search over the ids. Each row, column and index an insert updates cost the writer thread, and
// through it the core it shares with the traffic: bodies in a table of their own cost a second
// insert per exchange (+11,000 instructions of 125,000 per captured 1 KiB GET through mitm).
constexpr int schema_version = 3;
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS exchanges(
  id INTEGER PRIMARY KEY,
  started_us INTEGER NOT NULL,
  size INTEGER NOT NULL,
  detail BLOB NOT NULL,
  request_body BLOB,    -- NULL: none kept. After the detail: a body too large for the row's
  response_body BLOB);  -- page spills into overflow pages a listing never reads
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,  -- flow id: the exchange's WebSocket messages, encoded together
  data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
)";
// Threads hand out flow ids and read the clock a moment apart: an id's start time may trail a
// smaller id's by that moment. Time bounds searched by id are widened by this much, then applied
// to the rows exactly.
constexpr std::int64_t id_order_skew_us = 1'000'000;
// A row's bookkeeping beyond its columns' bytes: the row header, the B-tree cell, page slack.
constexpr std::uint64_t row_overhead = 64;
constexpr auto batch_wait = std::chrono::milliseconds(20);  // lets a batch fill before a commit
constexpr std::size_t batch_size = 256;       // committed at once without waiting for batch_wait
constexpr std::size_t batch_bytes = 4 << 20;  // as is this much (large bodies)
// The writer's side of the queue keeps its capacity from batch to batch, up to this much.
constexpr std::size_t kept_queue_capacity = 8 << 20;

std::int64_t micros_since_epoch(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// What a record costs on disk: its bytes, plus a third for what pages add around them (with the
// started_us index of version 1 the file measured 1.29 to 1.32 times the bytes of its rows in
// bench_capture_store), so that the budget bounds the file, not just the data.
std::uint64_t row_size(std::size_t content_bytes) {
    return row_overhead + content_bytes + content_bytes / 3;
}

// The columns of a listing, in this order (length() of a blob reads no byte of it).
constexpr const char* columns =
    "id, started_us, detail, length(request_body), length(response_body)";

std::optional<CapturedExchange> read_row(const Statement& s) {
    CapturedExchange e;
    e.flow_id = static_cast<std::uint64_t>(s.integer(0));
    e.started = Clock::time_point(std::chrono::microseconds(s.integer(1)));
    if (!decode_capture_detail(s.text(2), e)) return std::nullopt;
    e.request_body.stored = static_cast<std::uint64_t>(s.integer(3));
    e.response_body.stored = static_cast<std::uint64_t>(s.integer(4));
    return e;
}

// The smallest id whose exchange started at or after `t` (one past the largest id when none did),
// by a binary search over the ids, whose order is the start times' (up to id_order_skew_us).
std::int64_t first_id_from(sqlite3* db, std::int64_t t) {
    Statement bounds(db, "SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM exchanges");
    if (bounds.step() != SQLITE_ROW) return 0;
    std::int64_t lo = bounds.integer(0), hi = bounds.integer(1) + 1;  // the answer is in [lo, hi]
    Statement at(db, "SELECT id, started_us FROM exchanges WHERE id >= ?1 ORDER BY id LIMIT 1");
    while (lo < hi) {
        const auto mid = lo + (hi - lo) / 2;
        at.bind(1, mid);
        if (at.step() != SQLITE_ROW) {
            at.reset();
            hi = mid;
            continue;
        }
        const auto id = at.integer(0), started = at.integer(1);
        at.reset();
        // No row lies in [mid, id): mid bounds the answer as well as id does, and always moves
        // (ids have gaps: exchanges answered by mproxy, captures off by a rule or dropped).
        if (started >= t)
            hi = mid;
        else
            lo = id + 1;
    }
    return lo;
}

}  // namespace

// The writer thread's own connection and statements.
struct CaptureStore::Writer {
    explicit Writer(Database database)
        : db(std::move(database)),
          insert(db.get(),
                 "INSERT OR REPLACE INTO exchanges(id, started_us, size, detail, request_body, "
                 "response_body) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"),
          insert_messages(db.get(), "INSERT OR REPLACE INTO messages(id, data) VALUES(?1, ?2)"),
          save_bytes(db.get(), "INSERT OR REPLACE INTO meta(key, value) VALUES('bytes', ?1)"),
          oldest(db.get(), "SELECT id, size FROM exchanges ORDER BY id LIMIT 512"),
          older_than(db.get(),
                     "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM exchanges WHERE id < ?1"),
          evict_through(db.get(), "DELETE FROM exchanges WHERE id <= ?1"),
          evict_messages_through(db.get(), "DELETE FROM messages WHERE id <= ?1"),
          evict_before(db.get(), "DELETE FROM exchanges WHERE id < ?1"),
          evict_messages_before(db.get(), "DELETE FROM messages WHERE id < ?1") {}

    // Writes the queued records in one transaction; SQLITE_OK, or the code of the failure (rolled
    // back).
    int commit(std::string_view queue, std::uint64_t& truncated_bodies);
    // Removes the exchanges that started before now - max_age; how many.
    std::uint64_t evict_older_than(std::chrono::seconds max_age);
    // Removes the oldest exchanges until the count is at most `goal`; how many.
    std::uint64_t evict_down_to(std::uint64_t goal);

    Database db;
    Statement insert, insert_messages, save_bytes, oldest, older_than, evict_through,
        evict_messages_through, evict_before, evict_messages_before;
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point last_age_check{};
};

namespace {
bool ok(int rc) {
    return rc == SQLITE_OK || rc == SQLITE_DONE;
}
}  // namespace

int CaptureStore::Writer::commit(std::string_view queue, std::uint64_t& truncated_bodies) {
    int rc = exec(db.get(), "BEGIN");
    std::uint64_t added = 0;
    while (!queue.empty() && ok(rc)) {
        const auto r = read_record(queue);
        const auto id = static_cast<std::int64_t>(r.header.flow_id);
        const auto size = row_size(r.detail.size() + r.request_body.size() +
                                   r.response_body.size() + r.websocket.size());
        rc = insert.bind(1, id)
                 .bind(2, r.header.started_us)
                 .bind(3, static_cast<std::int64_t>(size))
                 .bind_blob(4, r.detail)
                 .bind_blob_or_null(5, r.request_body)
                 .bind_blob_or_null(6, r.response_body)
                 .run();
        if (ok(rc) && !r.websocket.empty())
            rc = insert_messages.bind(1, id).bind_blob(2, r.websocket).run();
        truncated_bodies += r.header.truncated_bodies;
        added += size;
    }
    if (ok(rc)) rc = save_bytes.bind(1, static_cast<std::int64_t>(bytes + added)).run();
    if (ok(rc)) rc = exec(db.get(), "COMMIT");
    if (!ok(rc)) {
        exec(db.get(), "ROLLBACK");
        return rc;
    }
    bytes += added;
    return SQLITE_OK;
}

std::uint64_t CaptureStore::Writer::evict_older_than(std::chrono::seconds max_age) {
    // Through the first id that started at the cutoff (exchanges up to id_order_skew_us past
    // their age may stay until the next check).
    const auto through = first_id_from(db.get(), micros_since_epoch(Clock::now() - max_age));
    older_than.bind(1, through);
    const bool any = older_than.step() == SQLITE_ROW && older_than.integer(1) > 0;
    const auto freed = any ? static_cast<std::uint64_t>(older_than.integer(0)) : 0;
    const auto rows = any ? static_cast<std::uint64_t>(older_than.integer(1)) : 0;
    older_than.reset();
    if (!any) return 0;
    exec(db.get(), "BEGIN");
    evict_messages_before.bind(1, through).run();
    evict_before.bind(1, through).run();
    bytes -= std::min(freed, bytes);
    save_bytes.bind(1, static_cast<std::int64_t>(bytes)).run();
    exec(db.get(), "COMMIT");
    return rows;
}

std::uint64_t CaptureStore::Writer::evict_down_to(std::uint64_t goal) {
    std::uint64_t evicted = 0;
    exec(db.get(), "BEGIN");
    while (bytes > goal) {
        // The oldest rows, a page at a time, until enough of them are counted.
        std::int64_t through = 0;
        std::uint64_t rows = 0;
        while (bytes > goal && oldest.step() == SQLITE_ROW) {
            through = oldest.integer(0);
            bytes -= std::min<std::uint64_t>(static_cast<std::uint64_t>(oldest.integer(1)), bytes);
            ++rows;
        }
        oldest.reset();
        if (rows == 0) break;
        evict_through.bind(1, through).run();
        evict_messages_through.bind(1, through).run();
        evicted += rows;
    }
    save_bytes.bind(1, static_cast<std::int64_t>(bytes)).run();
    exec(db.get(), "COMMIT");
    return evicted;
}

namespace {

// Creates the schema (a store of an earlier version is emptied first: its records are not this
// version's) and reads the budget's count; the SQLite result code of the first failure.
int prepare_schema(sqlite3* db, std::uint64_t& bytes, const std::filesystem::path& file) {
    // 16 KiB pages (for a new file; 4 KiB is SQLite's default): fewer page writes per batch to the
    // WAL and at its checkpoints, which are most of what the writer thread costs (in the kernel's
    // page cache); the capture benchmark measured 1 KiB bodies at +36 to +38 % CPU per request
    // with them against +44 to +45 % with 4 KiB pages, and 64 KiB pages at +45 %.
    int rc = exec(db, "PRAGMA page_size=16384");
    if (rc == SQLITE_OK) rc = exec(db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK) rc = exec(db, "PRAGMA synchronous=NORMAL");
    if (rc != SQLITE_OK) return rc;
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return rc;
    const int version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (version != schema_version) {
        rc = sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'exchanges'",
                                -1, &stmt, nullptr);
        if (rc != SQLITE_OK) return rc;
        const bool earlier = sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) > 0;
        sqlite3_finalize(stmt);
        if (earlier) {
            spdlog::warn(
                "capture store {} has the format of an earlier mproxy (version {}): its "
                "captures are discarded",
                file.string(), version);
            rc = exec(db,
                      "DROP TABLE IF EXISTS exchanges; DROP TABLE IF EXISTS bodies; DROP TABLE IF "
                      "EXISTS messages; DROP TABLE IF EXISTS meta;");
            if (rc != SQLITE_OK) return rc;
        }
        rc = exec(db, ("PRAGMA user_version=" + std::to_string(schema_version)).c_str());
        if (rc != SQLITE_OK) return rc;
    }
    rc = exec(db, schema);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'bytes'", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) bytes = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void move_aside(const std::filesystem::path& file, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::rename(file, to, ec);
    if (ec)
        throw std::runtime_error("capture store " + file.string() +
                                 " is corrupt and cannot be moved aside: " + ec.message());
    for (const char* suffix : {"-wal", "-shm"}) {
        std::filesystem::path side = file;
        side += suffix;
        std::filesystem::path side_to = to;
        side_to += suffix;
        std::filesystem::rename(side, side_to, ec);  // absent is fine
    }
}

}  // namespace

CaptureStore::CaptureStore(CaptureStoreConfig config)
    : config_(std::move(config)), reader_(nullptr, sqlite3_close_v2) {
    // The queue's records give their parts' lengths in 32 bits (queued_records.hpp).
    config_.max_queued_bytes =
        std::min<std::size_t>(config_.max_queued_bytes, std::size_t{1} << 31);
    const auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    std::uint64_t bytes = 0;
    auto db = open_database(config_.file, flags);
    int rc = prepare_schema(db.get(), bytes, config_.file);
    if (is_corruption(rc)) {
        db.reset();
        moved_aside_ = config_.file;
        moved_aside_ += ".corrupt-" + std::to_string(micros_since_epoch(Clock::now()) / 1'000'000);
        move_aside(config_.file, moved_aside_);
        spdlog::warn("capture store {} was corrupt: moved aside to {}, a new store started",
                     config_.file.string(), moved_aside_.string());
        db = open_database(config_.file, flags);
        bytes = 0;
        rc = prepare_schema(db.get(), bytes, config_.file);
    }
    if (rc != SQLITE_OK)
        throw std::runtime_error("capture store " + config_.file.string() + ": " +
                                 sqlite3_errmsg(db.get()));
    writer_ = std::make_unique<Writer>(std::move(db));
    writer_->bytes = bytes;
    stats_.bytes = bytes;
    reader_ = open_database(config_.file, SQLITE_OPEN_READONLY);
    thread_ = std::thread([this] { write_loop(); });
}

CaptureStore::~CaptureStore() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

bool CaptureStore::submit(const CaptureRecord& record) {
    const auto bytes = queued_size(record);
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() + bytes > config_.max_queued_bytes || stopping_) {
            ++stats_.dropped_queue_full;
            return false;
        }
        if (queued_ == 0) oldest_queued_ = std::chrono::steady_clock::now();
        append_record(queue_, record);
        ++queued_;
        ++submitted_;
        // The writer waits for a first capture, then for a full batch (or its batch wait): only
        // those moments need it woken. A wake per capture cost the I/O thread a futex call and,
        // on a shared core, a context switch each.
        wake = queued_ == 1 || queued_ == batch_size ||
               (queue_.size() >= batch_bytes && queue_.size() - bytes < batch_bytes);
    }
    if (wake) wake_.notify_one();
    return true;
}

void CaptureStore::flush() {
    std::unique_lock lock(mutex_);
    const auto target = submitted_;
    wake_.notify_one();
    flushed_.wait(lock, [&] { return settled_ >= target; });
}

void CaptureStore::write_loop() {
    auto& w = *writer_;
    std::string batch;  // swapped with queue_: both keep their capacity
    std::size_t records = 0;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || queued_ > 0; });
            if (queued_ == 0 && stopping_) return;
            const auto full = [&] {
                return stopping_ || queued_ >= batch_size || queue_.size() >= batch_bytes;
            };
            // A moment for more to arrive: one commit (one fsync of the WAL) serves them all.
            if (!full()) wake_.wait_for(lock, batch_wait, full);
            batch.clear();
            batch.swap(queue_);
            records = queued_;
            queued_ = 0;
        }

        std::uint64_t truncated = 0, evicted = 0;
        const int rc = w.commit(batch, truncated);
        if (batch.capacity() > kept_queue_capacity) batch = std::string();
        const bool committed = rc == SQLITE_OK;
        if (committed) {
            // By age at most once a second; then by budget, down to 90 % of it so that eviction
            // does not run on every batch.
            const auto now = std::chrono::steady_clock::now();
            if (config_.max_age.count() > 0 && now - w.last_age_check > std::chrono::seconds(1)) {
                w.last_age_check = now;
                evicted += w.evict_older_than(config_.max_age);
            }
            if (w.bytes > config_.max_bytes) evicted += w.evict_down_to(config_.max_bytes / 10 * 9);
        }

        std::lock_guard lock(mutex_);
        settled_ += records;
        stats_.bytes = w.bytes;
        stats_.evicted += evicted;
        if (committed) {
            stats_.stored += records;
            stats_.truncated_bodies += truncated;
            if (stats_.disk_full)
                spdlog::info("capture store {}: space again, capturing resumed",
                             config_.file.string());
            stats_.disk_full = false;
        } else if (rc == SQLITE_FULL) {
            stats_.dropped_disk_full += records;
            if (!stats_.disk_full)
                spdlog::warn(
                    "capture store {}: the disk is full, captures are dropped until there is space "
                    "(traffic goes on)",
                    config_.file.string());
            stats_.disk_full = true;
        } else {
            stats_.dropped_write_error += records;
            spdlog::warn("capture store {}: writing {} captures failed: {}", config_.file.string(),
                         records, sqlite3_errstr(rc));
        }
        flushed_.notify_all();
    }
}

std::optional<CapturedExchange> CaptureStore::get(std::uint64_t flow_id, bool with_bodies) const {
    std::lock_guard lock(reader_mutex_);
    Statement row(reader_.get(),
                  (std::string("SELECT ") + columns + " FROM exchanges WHERE id = ?1").c_str());
    row.bind(1, static_cast<std::int64_t>(flow_id));
    if (row.step() != SQLITE_ROW) return std::nullopt;
    auto exchange = read_row(row);
    if (!exchange) return exchange;
    if (with_bodies) {
        Statement bodies(reader_.get(),
                         "SELECT request_body, response_body FROM exchanges WHERE id = ?1");
        bodies.bind(1, static_cast<std::int64_t>(flow_id));
        if (bodies.step() == SQLITE_ROW) {
            exchange->request_body.bytes = bodies.text(0);
            exchange->response_body.bytes = bodies.text(1);
        }
    }
    Statement messages(reader_.get(), "SELECT data FROM messages WHERE id = ?1");
    messages.bind(1, static_cast<std::int64_t>(flow_id));
    if (messages.step() == SQLITE_ROW && !decode_websocket_messages(messages.text(0), *exchange))
        exchange->websocket = {};  // a record it cannot read: the exchange without its messages
    return exchange;
}

std::string CaptureStore::body(std::uint64_t flow_id, bool response) const {
    std::lock_guard lock(reader_mutex_);
    Statement body(reader_.get(), response ? "SELECT response_body FROM exchanges WHERE id = ?1"
                                           : "SELECT request_body FROM exchanges WHERE id = ?1");
    body.bind(1, static_cast<std::int64_t>(flow_id));
    return body.step() == SQLITE_ROW ? body.text(0) : std::string();
}

std::vector<CapturedExchange> CaptureStore::list(
    const CaptureQuery& query, const std::function<bool(const CapturedExchange&)>& keep) const {
    std::vector<CapturedExchange> out;
    if (query.limit == 0) return out;
    std::lock_guard lock(reader_mutex_);
    // The time range as ids first (a range of the primary key), then exactly on the rows.
    const std::int64_t since = query.since ? micros_since_epoch(*query.since) : INT64_MIN;
    const std::int64_t until = query.until ? micros_since_epoch(*query.until) : INT64_MAX;
    std::int64_t below =
        query.before_id == 0 ? INT64_MAX : static_cast<std::int64_t>(query.before_id);
    std::int64_t above = static_cast<std::int64_t>(query.after_id);
    if (query.since)
        above = std::max(above, first_id_from(reader_.get(), since - id_order_skew_us) - 1);
    if (query.until)
        below = std::min(below, first_id_from(reader_.get(), until + id_order_skew_us));
    Statement rows(reader_.get(),
                   (std::string("SELECT ") + columns +
                    " FROM exchanges WHERE id < ?1 AND id > ?4 AND started_us >= ?2 AND "
                    "started_us < ?3 ORDER BY id " +
                    (query.oldest_first ? "ASC" : "DESC"))
                       .c_str());
    rows.bind(1, below).bind(2, since).bind(3, until).bind(4, above);
    while (out.size() < query.limit && rows.step() == SQLITE_ROW) {
        auto exchange = read_row(rows);
        if (exchange && (!keep || keep(*exchange))) out.push_back(std::move(*exchange));
    }
    return out;
}

std::uint64_t CaptureStore::newest_id() const {
    std::lock_guard lock(reader_mutex_);
    Statement max(reader_.get(), "SELECT COALESCE(MAX(id), 0) FROM exchanges");
    return max.step() == SQLITE_ROW ? static_cast<std::uint64_t>(max.integer(0)) : 0;
}

CaptureStoreStats CaptureStore::stats() const {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.queued = queued_;
    if (queued_ > 0)
        s.writer_lag_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - oldest_queued_)
                .count();
    return s;
}

}  // namespace mproxy::proxy
