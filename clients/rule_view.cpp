#include "clients/rule_view.hpp"

#include "clients/formatting.hpp"

namespace mproxy::ctl {

namespace {

void append(std::string& out, const std::string& label,
            const google::protobuf::RepeatedPtrField<std::string>& values) {
    if (values.empty()) return;
    if (!out.empty()) out += ' ';
    out += label + "=";
    for (int i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
}

}  // namespace

std::string match_summary(const v1::RuleMatch& match) {
    std::string out;
    append(out, "host", match.hosts());
    append(out, "suffix", match.host_suffixes());
    append(out, "glob", match.host_globs());
    append(out, "regex", match.host_regexes());
    if (!match.ports().empty()) {
        if (!out.empty()) out += ' ';
        out += "port=";
        for (int i = 0; i < match.ports_size(); ++i) {
            const auto& range = match.ports(i);
            if (i) out += ',';
            out += std::to_string(range.first());
            if (range.last() != 0 && range.last() != range.first())
                out += "-" + std::to_string(range.last());
        }
    }
    append(out, "client", match.client_cidrs());
    return out.empty() ? "-" : out;
}

std::string action_summary(v1::Action action, std::uint32_t reject_status,
                           const v1::RuleOptions& options) {
    std::string out = action_name(action);
    if (action == v1::ACTION_REJECT)
        out += " " + std::to_string(reject_status == 0 ? 403 : reject_status);
    if (options.upstream_insecure()) out += " (insecure upstream)";
    if (options.expect() != v1::EXPECT_POLICY_FORWARD)
        out +=
            " (expect: " +
            v1::ExpectPolicy_Name(options.expect()).substr(std::string("EXPECT_POLICY_").size()) +
            ")";
    if (options.has_capture()) {
        const auto& capture = options.capture();
        if (capture.has_enabled() && !capture.enabled())
            out += " (capture: off)";
        else
            out +=
                " (capture: " +
                std::string(capture.has_headers() && !capture.headers() ? "no fields" : "fields") +
                ", bodies " + std::to_string(capture.request_body_bytes()) + "/" +
                std::to_string(capture.response_body_bytes()) + " B)";
    }
    return out;
}

int print_rules(const CommandContext& context, const Fleet& fleet,
                const std::vector<ReplicaAnswer<std::vector<v1::Rule>>>& answers) {
    Printer printer(context.format(), fleet.tagged,
                    {"#", "ID", "ACTION", "MATCH", "ENABLED", "VERSION", "DESCRIPTION"});
    for (const auto& answer : answers) {
        if (!answer.result) continue;
        for (const auto& rule : *answer.result) {
            const bool enabled = !rule.has_enabled() || rule.enabled();
            printer.row(answer.replica, rule,
                        {std::to_string(rule.order()), rule.id(),
                         action_summary(rule.action(), rule.reject_status(), rule.options()),
                         match_summary(rule.match()), enabled ? "yes" : "no",
                         std::to_string(rule.version()), rule.description()});
        }
    }
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

}  // namespace mproxy::ctl
