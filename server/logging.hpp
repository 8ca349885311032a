#pragma once
// Where mproxyd's log level and format are set, at start and again on a reload.

#include <string>

#include "server/server_options.hpp"

namespace mproxy::server {

void configure_logging(const std::string& level, LogFormat format);

}  // namespace mproxy::server
