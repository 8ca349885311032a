#include "server/logging.hpp"

#include <spdlog/spdlog.h>

#include "server/json_log_formatter.hpp"

namespace mproxy::server {

void configure_logging(const std::string& level, LogFormat format) {
    spdlog::set_level(spdlog::level::from_str(level));
    if (format == LogFormat::json)
        spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
    else
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

}  // namespace mproxy::server
