#include "control/rule_translation.hpp"

#include "control/enum_translation.hpp"

namespace mproxy::control {

namespace {

constexpr unsigned default_reject_status = 403;
constexpr std::uint32_t max_port = 65535;

std::vector<std::string> to_vector(const google::protobuf::RepeatedPtrField<std::string>& list) {
    return {list.begin(), list.end()};
}

template <class List>
void assign(google::protobuf::RepeatedPtrField<std::string>* out, const List& list) {
    out->Reserve(static_cast<int>(list.size()));
    for (const auto& entry : list) out->Add(std::string(entry));
}

std::variant<proxy::PortRange, FieldError> port_range_from_proto(const v1::PortRange& range,
                                                                 int index) {
    const std::string field = "match.ports[" + std::to_string(index) + "]";
    const std::uint32_t last = range.last() == 0 ? range.first() : range.last();
    if (range.first() > max_port || last > max_port) {
        return FieldError{
            field, "port " + std::to_string(range.first() > max_port ? range.first() : last) +
                       " is not a port: ports are 1..65535"};
    }
    // A first port of 0, or a range that ends before it starts, is RuleSet's to refuse.
    return proxy::PortRange{static_cast<std::uint16_t>(range.first()),
                            static_cast<std::uint16_t>(last)};
}

}  // namespace

std::variant<proxy::Rule, FieldError> rule_from_proto(const v1::Rule& in) {
    proxy::Rule rule;
    rule.id = in.id();
    rule.description = in.description();
    rule.enabled = !in.has_enabled() || in.enabled();  // absent: enabled, so seed files need not say it

    const auto& match = in.match();
    rule.match.hosts = to_vector(match.hosts());
    rule.match.host_suffixes = to_vector(match.host_suffixes());
    rule.match.host_globs = to_vector(match.host_globs());
    rule.match.host_regexes = to_vector(match.host_regexes());
    rule.match.client_cidrs = to_vector(match.client_cidrs());
    for (int i = 0; i < match.ports_size(); ++i) {
        auto range = port_range_from_proto(match.ports(i), i);
        if (auto* error = std::get_if<FieldError>(&range)) return std::move(*error);
        rule.match.ports.push_back(std::get<proxy::PortRange>(range));
    }

    const auto action = from_proto(in.action());
    if (!action) {
        return FieldError{
            "action",
            in.action() == v1::ACTION_UNSPECIFIED
                ? "action is required: ACTION_TUNNEL, ACTION_MITM, ACTION_HTTP or ACTION_REJECT"
                : "unknown action " + std::to_string(in.action())};
    }
    rule.action = *action;
    // The status means something only to a rejecting rule; elsewhere it is normalised so that what
    // is stored, listed and persisted is the same rule.
    rule.reject_status = in.reject_status() == 0 || rule.action != proxy::ConnectAction::reject
                             ? default_reject_status
                             : in.reject_status();
    rule.reject_message = in.reject_message();

    const auto expect = from_proto(in.options().expect());
    if (!expect)
        return FieldError{"options.expect",
                          "unknown expect policy " + std::to_string(in.options().expect())};
    rule.options.expect = *expect;
    rule.options.upstream_insecure = in.options().upstream_insecure();
    rule.version = in.version();
    return rule;
}

v1::RuleOptions options_to_proto(const proxy::RuleOptions& options) {
    v1::RuleOptions out;
    out.set_upstream_insecure(options.upstream_insecure);
    out.set_expect(to_proto(options.expect));
    return out;
}

v1::Rule rule_to_proto(const proxy::Rule& rule, std::size_t order) {
    v1::Rule out;
    out.set_id(rule.id);
    out.set_description(rule.description);
    out.set_enabled(rule.enabled);
    auto* match = out.mutable_match();
    assign(match->mutable_hosts(), rule.match.hosts);
    assign(match->mutable_host_suffixes(), rule.match.host_suffixes);
    assign(match->mutable_host_globs(), rule.match.host_globs);
    assign(match->mutable_host_regexes(), rule.match.host_regexes);
    assign(match->mutable_client_cidrs(), rule.match.client_cidrs);
    for (const auto& range : rule.match.ports) {
        auto* port = match->add_ports();
        port->set_first(range.first);
        if (range.last != range.first) port->set_last(range.last);
    }
    out.set_action(to_proto(rule.action));
    if (rule.action == proxy::ConnectAction::reject) out.set_reject_status(rule.reject_status);
    out.set_reject_message(rule.reject_message);
    *out.mutable_options() = options_to_proto(rule.options);
    out.set_version(rule.version);
    out.set_order(static_cast<std::uint32_t>(order));
    return out;
}

std::string describe_rule_error(const FieldError& error) {
    std::string text = "rule.";
    text += error.field;
    text += ": ";
    text += error.message;
    return text;
}

std::string describe_rule_error(std::size_t index, const FieldError& error) {
    std::string text = "rules[";
    text += std::to_string(index);
    text += "].";
    text += error.field;
    text += ": ";
    text += error.message;
    return text;
}

}  // namespace mproxy::control
