#pragma once
// Log lines as JSON objects, one per line (--log-format json), for log collectors in Kubernetes:
// {"time":"2026-11-24T05:11:57.289Z","level":"info","message":"..."}.

#include <spdlog/formatter.h>

#include <memory>

namespace mproxy::server {

class JsonLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace mproxy::server
