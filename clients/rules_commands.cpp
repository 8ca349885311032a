// `mproxyctl rules ...`: list, get, add, update, delete, replace and explain.

#include <charconv>

#include "clients/command_context.hpp"
#include "clients/formatting.hpp"
#include "clients/rule_changes.hpp"
#include "clients/rule_view.hpp"
#include "mproxy/v1/rules.grpc.pb.h"

namespace mproxy::ctl {

namespace {

using Rules = std::vector<v1::Rule>;

int list_rules(const CommandContext& context) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [](const ControlChannel& replica) {
        const auto reply = call<v1::RulesService>(replica, &v1::RulesService::Stub::ListRules,
                                                  v1::ListRulesRequest{});
        return Rules(reply.rules().begin(), reply.rules().end());
    });
    return print_rules(context, fleet, answers);
}

int get_rule(const CommandContext& context, const std::string& id) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<Rules>(fleet, [&](const ControlChannel& replica) {
        v1::GetRuleRequest request;
        request.set_id(id);
        return Rules{call<v1::RulesService>(replica, &v1::RulesService::Stub::GetRule, request)};
    });
    return print_rules(context, fleet, answers);
}

// "host", "host:443", "[2001:db8::1]:443" or a bare IPv6 address.
v1::ExplainDecisionRequest explain_request(const std::string& target, const std::string& client) {
    v1::ExplainDecisionRequest request;
    request.set_client(client);
    std::string port;
    if (target.starts_with('[')) {
        const auto close = target.find(']');
        if (close == std::string::npos)
            throw CliError(exit_usage, "explain " + target + ": missing ']'");
        request.set_host(target.substr(1, close - 1));
        if (close + 1 < target.size()) {
            if (target[close + 1] != ':')
                throw CliError(exit_usage, "explain " + target + ": expected [HOST]:PORT");
            port = target.substr(close + 2);
        }
    } else if (const auto colon = target.find(':');
               colon != std::string::npos && target.rfind(':') == colon) {
        request.set_host(target.substr(0, colon));
        port = target.substr(colon + 1);
    } else {
        request.set_host(target);
    }
    if (!port.empty()) {
        std::uint32_t number = 0;
        const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
        if (error != std::errc() || end != port.data() + port.size() || number == 0 ||
            number > 65535)
            throw CliError(exit_usage, "explain " + target + ": the port must be 1..65535");
        request.set_port(number);
    }
    return request;
}

int explain(const CommandContext& context, const std::string& target, const std::string& client) {
    const auto request = explain_request(target, client);
    const auto fleet = context.fleet();
    const auto answers =
        ask_each<v1::ExplainDecisionResponse>(fleet, [&](const ControlChannel& replica) {
            return call<v1::RulesService>(replica, &v1::RulesService::Stub::ExplainDecision,
                                          request);
        });
    Printer decision(context.format(), fleet.tagged, {"RULE", "ACTION", "REASON"});
    for (const auto& answer : answers) {
        if (!answer.result) continue;
        const auto& r = *answer.result;
        decision.row(answer.replica, r,
                     {r.rule_id().empty() ? "(default)" : r.rule_id(),
                      action_summary(r.action(), r.reject_status(), r.options()), r.reason()});
    }
    decision.finish();
    if (context.format() == OutputFormat::table) {
        // The trace is inside the JSON and YAML answers; for people it is a table of its own.
        Table trace(fleet.tagged
                        ? std::vector<std::string>{"REPLICA", "EVALUATED", "MATCHED", "WHY"}
                        : std::vector<std::string>{"EVALUATED", "MATCHED", "WHY"});
        for (const auto& answer : answers) {
            if (!answer.result) continue;
            for (const auto& step : answer.result->trace()) {
                std::vector<std::string> cells{step.rule_id(), step.matched() ? "yes" : "no",
                                               step.reason()};
                if (fleet.tagged) cells.insert(cells.begin(), answer.replica);
                trace.add_row(std::move(cells));
            }
        }
        if (!trace.empty()) {
            std::cout << "\n";
            trace.render(std::cout);
        }
    }
    return report_errors(answers, fleet.tagged);
}

}  // namespace

void add_rules_commands(CLI::App& app, CommandContext& context) {
    auto* rules = app.add_subcommand(
        "rules", "Interception rules: which CONNECTs are tunnelled, intercepted, read or rejected");
    rules->require_subcommand(1);

    auto* list = rules->add_subcommand(
        "list", "The rules in evaluation order (the first that matches decides)");
    list->footer("Examples:\n  mproxyctl rules list\n  mproxyctl rules list -o json | jq -r .id");
    on_run(list, context, list_rules);

    auto id = std::make_shared<std::string>();
    auto* get = rules->add_subcommand("get", "One rule");
    get->add_option("ID", *id, "The rule's id")->required();
    get->footer("Examples:\n  mproxyctl rules get block-ads -o yaml");
    on_run(get, context, [id](const CommandContext& c) { return get_rule(c, *id); });

    auto add_flags = std::make_shared<RuleFlags>();
    auto* add =
        rules->add_subcommand("add", "Add a rule from flags, or the rules of a YAML or JSON file");
    add_rule_flags(*add, *add_flags, false);
    add->footer(
        "Examples:\n"
        "  mproxyctl rules add --id corp --host-suffix corp.example --action mitm\n"
        "  mproxyctl rules add --id no-ads --host-glob '*.ads.example' --action reject "
        "--reject-status 451 --position 0\n"
        "  mproxyctl rules add -f rules.yaml\n"
        "A file holds one rule, a list of rules or `rules: [...]`, with the API's field names:\n"
        "  id: corp\n  match: {host_suffixes: [corp.example], ports: [{first: 443}]}\n  action: "
        "ACTION_MITM");
    on_run(add, context, [add_flags](const CommandContext& c) { return add_rules(c, *add_flags); });

    auto update_flags = std::make_shared<RuleFlags>();
    auto* update = rules->add_subcommand(
        "update", "Change a rule: each flag given replaces that field (or list)");
    update->add_option("ID", *id, "The rule's id")->required();
    add_rule_flags(*update, *update_flags, true);
    update->footer(
        "Examples:\n"
        "  mproxyctl rules update corp --action tunnel\n"
        "  mproxyctl rules update corp --disabled\n"
        "  mproxyctl rules update corp -f corp.yaml --position 0");
    on_run(update, context, [id, update_flags](const CommandContext& c) {
        return update_rule(c, *id, *update_flags);
    });

    auto version = std::make_shared<std::uint64_t>(0);
    auto* remove = rules->add_subcommand("delete", "Delete a rule");
    remove->add_option("ID", *id, "The rule's id")->required();
    remove->add_option("--version", *version, "Only if the rule is still at this version");
    remove->footer("Examples:\n  mproxyctl rules delete corp");
    on_run(remove, context,
           [id, version](const CommandContext& c) { return delete_rule(c, *id, *version); });

    auto file = std::make_shared<std::string>();
    auto* replace = rules->add_subcommand(
        "replace", "Replace every rule with those of a file, all at once or none");
    replace->add_option("-f,--file", *file, "YAML or JSON file of rules")->required();
    replace->footer(
        "Examples:\n"
        "  mproxyctl rules list -o yaml > rules.yaml && $EDITOR rules.yaml && mproxyctl rules "
        "replace -f rules.yaml");
    on_run(replace, context, [file](const CommandContext& c) { return replace_rules(c, *file); });

    auto target = std::make_shared<std::string>();
    auto client = std::make_shared<std::string>();
    auto* explain_command = rules->add_subcommand(
        "explain", "Which rule decides for HOST[:PORT] (443 by default), and why");
    explain_command->add_option("HOST[:PORT]", *target, "The CONNECT target")->required();
    explain_command->add_option("--client", *client, "The client's IP address (default 127.0.0.1)");
    explain_command->footer(
        "Examples:\n  mproxyctl rules explain git.corp.example\n  mproxyctl rules explain "
        "10.1.2.3:8443 --client 10.0.0.7");
    on_run(explain_command, context,
           [target, client](const CommandContext& c) { return explain(c, *target, *client); });
}

}  // namespace mproxy::ctl
