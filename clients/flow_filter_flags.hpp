#pragma once
// The flags that select flow events (`flows watch`, `flows list`), as the API's FlowFilter.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mproxy/v1/flows.pb.h"

namespace mproxy::ctl {

struct FlowFilterFlags {
    std::string host_glob;
    std::vector<std::string> methods;
    std::string status;  // "404", "400-499" or "4xx"
    std::vector<std::string> modes;
    std::string client_cidr;
    std::uint64_t connection_id = 0;
    std::uint64_t min_bytes = 0;
    std::vector<std::string> kinds;
};

void add_flow_filter_flags(CLI::App& command, FlowFilterFlags& flags);

// Throws CliError(exit_usage) for a status that is no STATUS, FIRST-LAST or Nxx.
v1::FlowFilter flow_filter(const FlowFilterFlags& flags);

}  // namespace mproxy::ctl
