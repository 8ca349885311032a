#pragma once
// The few SQLite pieces the capture store needs, as RAII: a connection that closes itself, and a
// prepared statement with chained binds. Errors are SQLite result codes, except where a
// statement cannot even be prepared (a bug, or a store that is not ours), which throws.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mproxy::proxy::sqlite {

using Database = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

class Statement {
  public:
    Statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
            SQLITE_OK)
            throw std::runtime_error(std::string("capture store: ") + sqlite3_errmsg(db));
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Statement& bind(int i, std::string_view v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Statement& bind_blob(int i, std::string_view v) {
        sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    // An empty value as NULL: "none" rather than "zero bytes".
    Statement& bind_blob_or_null(int i, std::string_view v) {
        if (v.empty()) {
            sqlite3_bind_null(stmt_, i);
            return *this;
        }
        return bind_blob(i, v);
    }
    int step() { return sqlite3_step(stmt_); }
    // Runs a statement that returns no rows; the SQLite result code.
    int run() {
        const int rc = sqlite3_step(stmt_);
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        return rc == SQLITE_ROW ? SQLITE_DONE : rc;
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, column));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                 : std::string{};
    }

  private:
    sqlite3_stmt* stmt_ = nullptr;
};

inline int exec(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

inline Database open_database(const std::filesystem::path& file, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    Database db(raw, sqlite3_close_v2);
    if (rc != SQLITE_OK)
        throw std::runtime_error("capture store " + file.string() + ": " +
                                 (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_busy_timeout(raw, 5000);
    sqlite3_extended_result_codes(raw, 0);
    return db;
}

inline bool is_corruption(int rc) {
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

}  // namespace mproxy::proxy::sqlite
