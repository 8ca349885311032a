#pragma once
// mproxyd's command line and configuration file, turned into the data plane's, control plane's and
// metrics' configurations. Flags given on the command line win over the file.

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "control/control_server.hpp"
#include "control/metrics_server.hpp"
#include "proxy/proxy_config.hpp"

namespace mproxy::server {

enum class LogFormat { text, json };

struct ServerOptions {
    proxy::ProxyConfig proxy;
    control::ControlConfig control;
    control::MetricsConfig metrics;
    bool metrics_enabled = true;  // --metrics-listen off
    std::string log_level = "info";
    LogFormat log_format = LogFormat::text;
    std::string config_file;  // --config, empty when none
    std::chrono::milliseconds drain_timeout{30'000};
};

// Why there are no options: --help or --version was printed (exit 0), or an error (exit 2 for a
// bad command line or configuration file).
struct OptionsFailure {
    int exit_code = 2;
    std::string message;  // what to print: the help text, or the error in one line
};

// Parses argv (and the file --config names). Prints nothing.
std::variant<ServerOptions, OptionsFailure> read_server_options(int argc, char** argv);

// Parses argv; prints help or the error and returns nullopt, setting `exit_code`, when there are
// no options to run with.
std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code);

}  // namespace mproxy::server
