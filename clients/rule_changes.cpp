#include "clients/rule_changes.hpp"

#include "clients/rule_view.hpp"
#include "mproxy/v1/rules.grpc.pb.h"

namespace mproxy::ctl {

namespace {

using Rules = std::vector<v1::Rule>;

// -f FILE or flags, not both: a file is the whole rule.
void refuse_mixing(const RuleFlags& flags) {
    if (!flags.file.empty() && has_rule_fields(flags))
        throw CliError(exit_usage,
                       "-f FILE holds the whole rule: give the file or the rule's flags, not both");
}

}  // namespace

int add_rules(const CommandContext& context, const RuleFlags& flags) {
    refuse_mixing(flags);
    Rules rules;
    if (!flags.file.empty()) {
        rules = read_rule_file(flags.file);
    } else {
        rules.emplace_back();
        apply_rule_flags(flags, rules.back());
    }
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [&](const ControlChannel& replica) {
        Rules created;
        for (std::size_t i = 0; i < rules.size(); ++i) {
            v1::CreateRuleRequest request;
            *request.mutable_rule() = rules[i];
            // Several rules from a file keep their order from the position on.
            if (flags.position)
                request.set_position(*flags.position + static_cast<std::uint32_t>(i));
            created.push_back(
                call<v1::RulesService>(replica, &v1::RulesService::Stub::CreateRule, request));
        }
        return created;
    });
    return print_rules(context, fleet, answers);
}

int update_rule(const CommandContext& context, const std::string& id, const RuleFlags& flags) {
    refuse_mixing(flags);
    std::optional<v1::Rule> from_file;
    if (!flags.file.empty()) {
        auto rules = read_rule_file(flags.file);
        if (rules.size() != 1)
            throw CliError(exit_usage, flags.file + " holds " + std::to_string(rules.size()) +
                                           " rules; update takes one");
        from_file = std::move(rules.front());
    }
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [&](const ControlChannel& replica) {
        v1::GetRuleRequest get;
        get.set_id(id);
        const auto current = call<v1::RulesService>(replica, &v1::RulesService::Stub::GetRule, get);
        v1::UpdateRuleRequest request;
        auto& rule = *request.mutable_rule();
        if (from_file) {
            rule = *from_file;
            if (rule.version() == 0) rule.set_version(current.version());
        } else {
            rule = current;
            apply_rule_flags(flags, rule);
        }
        rule.set_id(id);
        if (flags.position) request.set_position(*flags.position);
        return Rules{call<v1::RulesService>(replica, &v1::RulesService::Stub::UpdateRule, request)};
    });
    return print_rules(context, fleet, answers);
}

int delete_rule(const CommandContext& context, const std::string& id, std::uint64_t version) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [&](const ControlChannel& replica) {
        v1::DeleteRuleRequest request;
        request.set_id(id);
        request.set_version(version);
        call<v1::RulesService>(replica, &v1::RulesService::Stub::DeleteRule, request);
        return Rules{};
    });
    const int code = report_errors(answers, fleet.tagged);
    if (context.format() == OutputFormat::table) {
        for (const auto& answer : answers)
            if (answer.result)
                std::cout << (fleet.tagged ? "[" + answer.replica + "] " : "") << "deleted rule "
                          << id << "\n";
    }
    return code;
}

int replace_rules(const CommandContext& context, const std::string& file) {
    const auto rules = read_rule_file(file);
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [&](const ControlChannel& replica) {
        v1::ReplaceRulesRequest request;
        for (const auto& rule : rules) *request.add_rules() = rule;
        const auto reply =
            call<v1::RulesService>(replica, &v1::RulesService::Stub::ReplaceRules, request);
        return Rules(reply.rules().begin(), reply.rules().end());
    });
    return print_rules(context, fleet, answers);
}

}  // namespace mproxy::ctl
