#include "clients/rule_flags.hpp"

#include <charconv>

#include "clients/cli_error.hpp"
#include "clients/formatting.hpp"

namespace mproxy::ctl {

namespace {

std::optional<std::uint32_t> parse_number(std::string_view text) {
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// "443" or "8000-8100". Range checks are the server's, which names the field.
v1::PortRange parse_port_range(const std::string& text) {
    const auto dash = text.find('-');
    const auto first = parse_number(text.substr(0, dash));
    const auto last = dash == std::string::npos ? first : parse_number(text.substr(dash + 1));
    if (!first || !last)
        throw CliError(exit_usage,
                       "--port " + text + ": expected PORT or FIRST-LAST, like 443 or 8000-8100");
    v1::PortRange range;
    range.set_first(*first);
    if (*last != *first) range.set_last(*last);
    return range;
}

void replace_list(google::protobuf::RepeatedPtrField<std::string>* field,
                  const std::vector<std::string>& values) {
    if (values.empty()) return;
    field->Clear();
    for (const auto& value : values) field->Add(std::string(value));
}

}  // namespace

void add_rule_flags(CLI::App& command, RuleFlags& flags, bool for_update) {
    command.add_option("-f,--file", flags.file, "Read the rule(s) from this YAML or JSON file");
    if (!for_update)
        command.add_option("--id", flags.id,
                           "The rule's id ([A-Za-z0-9._-]; the server makes one when absent)");
    command.add_option("--description", flags.description, "What the rule is for");
    command.add_option("--host", flags.hosts, "Match this exact host name or address (repeatable)")
        ->allow_extra_args(false);
    command
        .add_option("--host-suffix", flags.host_suffixes,
                    "Match this name and every name under it (repeatable)")
        ->allow_extra_args(false);
    command
        .add_option("--host-glob", flags.host_globs,
                    "Match hosts against this glob, '*' and '?' (repeatable)")
        ->allow_extra_args(false);
    command
        .add_option("--host-regex", flags.host_regexes,
                    "Match the whole host against this regex (repeatable)")
        ->allow_extra_args(false);
    command.add_option("--port", flags.ports, "Match this port or FIRST-LAST range (repeatable)")
        ->allow_extra_args(false);
    command
        .add_option("--client-cidr", flags.client_cidrs,
                    "Match clients in this network (repeatable)")
        ->allow_extra_args(false);
    command.add_option("--action", flags.action, "tunnel, mitm, http or reject")
        ->check(CLI::IsMember({"tunnel", "mitm", "http", "reject"}));
    command.add_option("--reject-status", flags.reject_status,
                       "The status a reject answers (400..599, default 403)");
    command.add_option("--reject-message", flags.reject_message,
                       "The explanation a reject answers with");
    command
        .add_option("--expect", flags.expect,
                    "Expect: 100-continue policy: forward, answer-locally or reject")
        ->check(CLI::IsMember({"forward", "answer-locally", "reject"}));
    command.add_flag("--insecure-upstream", flags.insecure_upstream,
                     "Do not verify the origin's certificate (mitm)");
    command.add_flag("--disabled", flags.disabled, "Keep the rule, but out of force");
    command.add_option("--position", flags.position,
                       "Where the rule goes, 0 first (default: last; update: stays)");
    if (for_update) {
        command.add_flag("--verify-upstream", flags.verify_upstream,
                         "Verify the origin's certificate again");
        command.add_flag("--enabled", flags.enabled, "Put a disabled rule back in force");
    }
}

bool has_rule_fields(const RuleFlags& f) {
    return !f.id.empty() || !f.description.empty() || !f.hosts.empty() ||
           !f.host_suffixes.empty() || !f.host_globs.empty() || !f.host_regexes.empty() ||
           !f.ports.empty() || !f.client_cidrs.empty() || !f.action.empty() || f.reject_status ||
           !f.reject_message.empty() || !f.expect.empty() || f.insecure_upstream ||
           f.verify_upstream || f.disabled || f.enabled;
}

void apply_rule_flags(const RuleFlags& flags, v1::Rule& rule) {
    if (flags.enabled && flags.disabled)
        throw CliError(exit_usage, "--enabled and --disabled contradict each other");
    if (flags.insecure_upstream && flags.verify_upstream)
        throw CliError(exit_usage,
                       "--insecure-upstream and --verify-upstream contradict each other");
    if (!flags.id.empty()) rule.set_id(flags.id);
    if (!flags.description.empty()) rule.set_description(flags.description);
    auto* match = rule.mutable_match();
    replace_list(match->mutable_hosts(), flags.hosts);
    replace_list(match->mutable_host_suffixes(), flags.host_suffixes);
    replace_list(match->mutable_host_globs(), flags.host_globs);
    replace_list(match->mutable_host_regexes(), flags.host_regexes);
    replace_list(match->mutable_client_cidrs(), flags.client_cidrs);
    if (!flags.ports.empty()) {
        match->clear_ports();
        for (const auto& port : flags.ports) *match->add_ports() = parse_port_range(port);
    }
    if (!flags.action.empty()) rule.set_action(*parse_action(flags.action));
    if (flags.reject_status) rule.set_reject_status(*flags.reject_status);
    if (!flags.reject_message.empty()) rule.set_reject_message(flags.reject_message);
    if (!flags.expect.empty()) rule.mutable_options()->set_expect(*parse_expect(flags.expect));
    if (flags.insecure_upstream) rule.mutable_options()->set_upstream_insecure(true);
    if (flags.verify_upstream) rule.mutable_options()->set_upstream_insecure(false);
    if (flags.disabled) rule.set_enabled(false);
    if (flags.enabled) rule.set_enabled(true);
}

}  // namespace mproxy::ctl
