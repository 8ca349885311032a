#pragma once
// What every command shares: the connection flags, the output format, and the action the parsed
// command line chose (run by main after parsing, so that its errors map to exit codes in one
// place).

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "clients/control_channel.hpp"
#include "clients/output.hpp"
#include "clients/replicas.hpp"
#include "mproxy/v1/flows.pb.h"

namespace mproxy::ctl {

struct CommandContext {
    ConnectionOptions connection;
    std::string output = "table";
    std::function<int()> action;

    OutputFormat format() const { return parse_output_format(output); }
    Fleet fleet() const { return open_fleet(connection); }
};

// Sets `command` to run `run(context)` once the command line is parsed.
template <class Run>
void on_run(CLI::App* command, CommandContext& context, Run run) {
    command->callback(
        [&context, run] { context.action = [&context, run] { return run(context); }; });
}

// The command groups, each in its own file.
void add_rules_commands(CLI::App& app, CommandContext& context);
void add_ca_commands(CLI::App& app, CommandContext& context);
void add_flows_commands(CLI::App& app, CommandContext& context);
// `flows show|body|har`, under the `flows` command.
void add_flow_capture_commands(CLI::App& flows, CommandContext& context);
// GetFlow asked of every replica; NOT_FOUND forgiven where another replica has the flow.
std::vector<ReplicaAnswer<v1::Flow>> get_flow_everywhere(const Fleet& fleet, std::uint64_t id);
void add_conns_commands(CLI::App& app, CommandContext& context);
void add_status_command(CLI::App& app, CommandContext& context);
void add_completion_command(CLI::App& app, CommandContext& context);

}  // namespace mproxy::ctl
