#pragma once
// mproxyd's configuration file: YAML or JSON, read through the ServerConfig message of
// proto/mproxy/v1/config.proto so that both have one schema and an unknown key or a wrong value is
// an error naming it.

#include <string>
#include <vector>

#include "mproxy/v1/config.pb.h"

namespace mproxy::server {

// Reads and validates `path`; throws std::runtime_error("config FILE: <key>: <problem>").
v1::ServerConfig load_config_file(const std::string& path);

// The file's settings as command-line arguments ("--listen", "0.0.0.0:8080", ...), so that the
// flags' own checks apply to them and a flag given on the command line can take precedence.
std::vector<std::string> config_arguments(const v1::ServerConfig& config);

}  // namespace mproxy::server
