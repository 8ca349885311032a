#pragma once
// The rules commands that change something: add, update, delete, replace. Each goes to every
// replica of the fleet and prints the rules as they stand after the change.

#include <cstdint>
#include <string>

#include "clients/command_context.hpp"
#include "clients/rule_flags.hpp"

namespace mproxy::ctl {

int add_rules(const CommandContext& context, const RuleFlags& flags);
int update_rule(const CommandContext& context, const std::string& id, const RuleFlags& flags);
int delete_rule(const CommandContext& context, const std::string& id, std::uint64_t version);
int replace_rules(const CommandContext& context, const std::string& file);

}  // namespace mproxy::ctl
