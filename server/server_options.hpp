#pragma once
// mproxyd's command line, turned into the data plane's configuration.

#include <optional>
#include <string>

#include "control/control_server.hpp"
#include "control/metrics_server.hpp"
#include "proxy/proxy_config.hpp"

namespace mproxy::server {

struct ServerOptions {
    proxy::ProxyConfig proxy;
    control::ControlConfig control;
    control::MetricsConfig metrics;
    bool metrics_enabled = true;  // --metrics-listen off
    std::string log_level = "info";
};

// Parses argv. Returns the options, or nullopt after printing help or an error; `exit_code` is then
// what the process should exit with.
std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code);

}  // namespace mproxy::server
