#pragma once
// mproxy.v1 rules to and from the data plane's plain values. Only what the protobuf types can say
// wrong is checked here (an unknown action, a port beyond 16 bits); the rest is RuleSet's
// validation.

#include <cstdint>
#include <string>
#include <variant>

#include "mproxy/v1/rules.pb.h"
#include "proxy/rules/rule.hpp"

namespace mproxy::control {

// A field of the rule, spelled as in the API ("action", "match.ports[2]"), and what is wrong with
// it.
struct FieldError {
    std::string field;
    std::string message;
};

// The rule as given, `version` and `enabled` included; reject_status 0 (or any, for a rule that
// does not reject) becomes 403.
std::variant<proxy::Rule, FieldError> rule_from_proto(const v1::Rule& rule);

// The stored rule at position `order`; reject_status is set only for a rejecting rule.
v1::Rule rule_to_proto(const proxy::Rule& rule, std::size_t order);

v1::RuleOptions options_to_proto(const proxy::RuleOptions& options);
// A rule's capture block; a FieldError names the field within it.
std::variant<proxy::CapturePolicy, FieldError> capture_from_proto(const v1::CapturePolicy& in);
v1::CapturePolicy capture_to_proto(const proxy::CapturePolicy& policy);

// "rule.<field>: <message>" for one rule, "rules[<i>].<field>: <message>" for a list.
std::string describe_rule_error(const FieldError& error);
std::string describe_rule_error(std::size_t index, const FieldError& error);

}  // namespace mproxy::control
