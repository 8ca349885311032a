#include "server/json_log_formatter.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace mproxy::server {

namespace {

void append(spdlog::memory_buf_t& out, std::string_view text) {
    out.append(text.data(), text.data() + text.size());
}

// JSON string contents: quotes, backslashes and control characters escaped; other bytes as they
// are (log text is UTF-8 or ASCII).
void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '"':
                append(out, "\\\"");
                break;
            case '\\':
                append(out, "\\\\");
                break;
            case '\n':
                append(out, "\\n");
                break;
            case '\r':
                append(out, "\\r");
                break;
            case '\t':
                append(out, "\\t");
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    append(out, escaped);
                } else {
                    out.push_back(c);
                }
        }
    }
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) {
    const auto since_epoch = message.time.time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    const std::time_t t = seconds.count();
    std::tm utc{};
    gmtime_r(&t, &utc);
    char time[96];
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    append(out, "{\"time\":\"");
    append(out, time);
    append(out, "\",\"level\":\"");
    const auto level = spdlog::level::to_string_view(message.level);
    append(out, std::string_view(level.data(), level.size()));
    append(out, "\",\"message\":\"");
    append_escaped(out, std::string_view(message.payload.data(), message.payload.size()));
    append(out, "\"}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
    return std::make_unique<JsonLogFormatter>();
}

}  // namespace mproxy::server
