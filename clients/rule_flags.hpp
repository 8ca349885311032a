#pragma once
// A rule written as flags on the command line (`rules add`, `rules update`), and rules read from a
// YAML or JSON file (`-f FILE`) in the API's JSON form, the same as the server's rules.json.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mproxy/v1/rules.pb.h"

namespace mproxy::ctl {

struct RuleFlags {
    std::string file;
    std::string id;
    std::string description;
    std::vector<std::string> hosts, host_suffixes, host_globs, host_regexes, ports, client_cidrs;
    std::string action;
    std::optional<std::uint32_t> reject_status;
    std::string reject_message;
    std::string expect;
    bool insecure_upstream = false;
    bool verify_upstream = false;
    bool disabled = false;
    bool enabled = false;
    std::optional<std::uint32_t> position;
};

// The flags of `rules add` and `rules update`; `for_update` adds the ones that undo a setting.
void add_rule_flags(CLI::App& command, RuleFlags& flags, bool for_update);

// Sets what the flags say on `rule`: each list flag given replaces that list, each other flag its
// field. Throws CliError(exit_usage) for a port that is no PORT or FIRST-LAST.
void apply_rule_flags(const RuleFlags& flags, v1::Rule& rule);

// True when a flag that describes the rule was given (so that -f and these flags do not mix).
bool has_rule_fields(const RuleFlags& flags);

// The rules of a YAML or JSON file: one rule, a list of rules, `rules: [...]`, several YAML
// documents or JSON lines. Throws CliError(exit_invalid_argument) naming the file and the field.
std::vector<v1::Rule> read_rule_file(const std::string& path);

}  // namespace mproxy::ctl
