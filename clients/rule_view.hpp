#pragma once
// Rules as table rows: the match criteria and the action summarised in a few words each.

#include <string>
#include <vector>

#include "clients/command_context.hpp"
#include "mproxy/v1/rules.pb.h"

namespace mproxy::ctl {

std::string match_summary(const v1::RuleMatch& match);  // "suffix=corp.example port=443"
std::string action_summary(v1::Action action, std::uint32_t reject_status,
                           const v1::RuleOptions& options);

// Prints each replica's rules (in evaluation order) and returns the exit code of the first failure.
int print_rules(const CommandContext& context, const Fleet& fleet,
                const std::vector<ReplicaAnswer<std::vector<v1::Rule>>>& answers);

}  // namespace mproxy::ctl
