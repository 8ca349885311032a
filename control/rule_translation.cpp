#include "control/rule_translation.hpp"

#include <optional>

#include "control/enum_translation.hpp"
#include "proxy/http1/head_parser.hpp"

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
    if (in.options().has_capture()) {
        auto capture = capture_from_proto(in.options().capture());
        if (auto* error = std::get_if<FieldError>(&capture)) {
            error->field = "options.capture." + error->field;
            return *error;
        }
        rule.options.capture = std::get<proxy::CapturePolicy>(capture);
    }
    rule.version = in.version();
    return rule;
}

namespace {
constexpr std::uint64_t max_capture_body_bytes = std::uint64_t{1} << 32;

// A media type ("type/subtype", tokens both) or a whole type ("type/").
bool is_media_type_pattern(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return false;
    const auto subtype = text.substr(slash + 1);
    return proxy::is_token(text.substr(0, slash)) && (subtype.empty() || proxy::is_token(subtype));
}

std::optional<FieldError> check_media_types(
    const google::protobuf::RepeatedPtrField<std::string>& in, const char* field,
    std::vector<std::string>& out) {
    for (int i = 0; i < in.size(); ++i) {
        if (!is_media_type_pattern(in[i]))
            return FieldError{
                std::string(field) + "[" + std::to_string(i) + "]",
                "'" + in[i] + "' is not a media type (type/subtype, or type/ for all)"};
        out.push_back(in[i]);
    }
    return std::nullopt;
}
}  // namespace

std::variant<proxy::CapturePolicy, FieldError> capture_from_proto(const v1::CapturePolicy& in) {
    proxy::CapturePolicy policy;
    policy.enabled = !in.has_enabled() || in.enabled();
    policy.headers = !in.has_headers() || in.headers();
    if (in.request_body_bytes() > max_capture_body_bytes)
        return FieldError{"request_body_bytes", "at most 4294967296 (4 GiB)"};
    if (in.response_body_bytes() > max_capture_body_bytes)
        return FieldError{"response_body_bytes", "at most 4294967296 (4 GiB)"};
    policy.request_body_bytes = in.request_body_bytes();
    policy.response_body_bytes = in.response_body_bytes();
    if (auto error = check_media_types(in.body_content_types(), "body_content_types",
                                       policy.body_content_types))
        return *error;
    if (auto error = check_media_types(in.skip_body_content_types(), "skip_body_content_types",
                                       policy.skip_body_content_types))
        return *error;
    if (in.has_redact()) {
        std::vector<std::string> names;
        for (int i = 0; i < in.redact().names_size(); ++i) {
            const auto& name = in.redact().names(i);
            if (!proxy::is_token(name))
                return FieldError{"redact.names[" + std::to_string(i) + "]",
                                  "'" + name + "' is not a header field name"};
            names.push_back(name);
        }
        policy.redact_fields = std::move(names);
    }
    return policy;
}

v1::CapturePolicy capture_to_proto(const proxy::CapturePolicy& policy) {
    v1::CapturePolicy out;
    out.set_enabled(policy.enabled);
    out.set_headers(policy.headers);
    out.set_request_body_bytes(policy.request_body_bytes);
    out.set_response_body_bytes(policy.response_body_bytes);
    assign(out.mutable_body_content_types(), policy.body_content_types);
    assign(out.mutable_skip_body_content_types(), policy.skip_body_content_types);
    if (policy.redact_fields) assign(out.mutable_redact()->mutable_names(), *policy.redact_fields);
    return out;
}

v1::RuleOptions options_to_proto(const proxy::RuleOptions& options) {
    v1::RuleOptions out;
    out.set_upstream_insecure(options.upstream_insecure);
    out.set_expect(to_proto(options.expect));
    if (options.capture) *out.mutable_capture() = capture_to_proto(*options.capture);
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
