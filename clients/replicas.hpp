#pragma once
// A command goes to one server (--server) or to every replica of a fleet (--servers A,B,C, or
// --servers dns:///name[:port] for each address the name resolves to: a Kubernetes headless
// Service). Each replica is asked concurrently; rows from several replicas are tagged with theirs.

#include <algorithm>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "clients/cli_error.hpp"
#include "clients/control_channel.hpp"

namespace mproxy::ctl {

// "A,B,C" as addresses, or "dns:///name[:port]" as every address the name resolves to (port 9090
// when none is given). Throws CliError(exit_usage) for an empty list, exit_unreachable when the
// name does not resolve.
std::vector<std::string> replica_addresses(const std::string& servers);

struct Fleet {
    std::vector<ControlChannel> replicas;
    bool tagged = false;  // --servers was given: rows name their replica
};

Fleet open_fleet(const ConnectionOptions& options);

template <class Result>
struct ReplicaAnswer {
    std::string replica;
    std::optional<Result> result;
    std::optional<CliError> error;
};

// Runs `ask(replica)` for every replica at once; a CliError it throws becomes that replica's error.
template <class Result, class Ask>
std::vector<ReplicaAnswer<Result>> ask_each(const Fleet& fleet, Ask ask) {
    std::vector<std::future<Result>> pending;
    for (const auto& replica : fleet.replicas)
        pending.push_back(
            std::async(std::launch::async, [&ask, &replica] { return ask(replica); }));
    std::vector<ReplicaAnswer<Result>> answers;
    for (std::size_t i = 0; i < pending.size(); ++i) {
        ReplicaAnswer<Result> answer{fleet.replicas[i].address(), std::nullopt, std::nullopt};
        try {
            answer.result = pending[i].get();
        } catch (const CliError& e) {
            answer.error = e;
        }
        answers.push_back(std::move(answer));
    }
    return answers;
}

// Ids of flows and connections are each server's own: when some replica knows the id, the others'
// NOT_FOUND is no failure of the command. Only "no replica has it" stays.
template <class Result>
void forgive_not_found_elsewhere(std::vector<ReplicaAnswer<Result>>& answers) {
    const bool found = std::any_of(answers.begin(), answers.end(),
                                   [](const auto& a) { return a.result.has_value(); });
    if (found)
        std::erase_if(answers,
                      [](const auto& a) { return a.error && a.error->code() == exit_not_found; });
}

// One line on stderr for `error`, naming the replica when the fleet has several.
void print_error(const CliError& error, const std::string& replica, bool tagged);

// Prints each replica's error; the exit code of the first, or 0 when all answered.
template <class Result>
int report_errors(const std::vector<ReplicaAnswer<Result>>& answers, bool tagged) {
    int code = exit_ok;
    for (const auto& answer : answers) {
        if (!answer.error) continue;
        print_error(*answer.error, answer.replica, tagged);
        if (code == exit_ok) code = answer.error->code();
    }
    return code;
}

}  // namespace mproxy::ctl
