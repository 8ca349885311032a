#pragma once
// Builders shared by the RuleSet tests: rules and matches in a line each, compiled or refused.

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "proxy/rules/rule_set.hpp"

namespace mproxy::proxy::rule_test {

namespace ip = boost::asio::ip;

inline Rule valid_rule(std::string id = "r1") {
    Rule rule;
    rule.id = std::move(id);
    rule.match.host_globs = {"*"};
    return rule;
}

inline Rule rule_matching(std::string id, RuleMatch match,
                          ConnectAction action = ConnectAction::mitm) {
    Rule rule;
    rule.id = std::move(id);
    rule.match = std::move(match);
    rule.action = action;
    return rule;
}

// Throwing fails the test with the validation message, instead of dereferencing nothing.
inline std::shared_ptr<const RuleSet> must_compile(
    std::vector<Rule> rules, ConnectAction default_action = ConnectAction::tunnel,
    std::uint64_t generation = 0) {
    auto result = RuleSet::compile(std::move(rules), default_action, generation);
    if (const auto* error = std::get_if<RuleError>(&result))
        throw std::runtime_error("rule #" + std::to_string(error->index) + " " + error->field +
                                 ": " + error->message);
    return std::get<std::shared_ptr<const RuleSet>>(result);
}

inline std::optional<RuleError> compile_error(std::vector<Rule> rules) {
    auto result = RuleSet::compile(std::move(rules), ConnectAction::tunnel);
    if (auto* error = std::get_if<RuleError>(&result)) return *error;
    return std::nullopt;
}

inline Authority to(std::string host, std::uint16_t port = 443) {
    return Authority{std::move(host), port};
}
inline ip::address from(const char* address) {
    return ip::make_address(address);
}

// Designated initializers would read better, but GCC 12 reports them under
// -Wmissing-field-initializers.
struct Match {
    RuleMatch match;
    Match& hosts(std::vector<std::string> v) { return set(match.hosts, std::move(v)); }
    Match& host_suffixes(std::vector<std::string> v) {
        return set(match.host_suffixes, std::move(v));
    }
    Match& host_globs(std::vector<std::string> v) { return set(match.host_globs, std::move(v)); }
    Match& host_regexes(std::vector<std::string> v) {
        return set(match.host_regexes, std::move(v));
    }
    Match& ports(std::vector<PortRange> v) { return set(match.ports, std::move(v)); }
    Match& client_cidrs(std::vector<std::string> v) {
        return set(match.client_cidrs, std::move(v));
    }
    operator RuleMatch() const { return match; }

  private:
    template <class T>
    Match& set(T& field, T value) {
        field = std::move(value);
        return *this;
    }
};

inline const ip::address any_client = ip::make_address("192.0.2.10");

inline bool matches(const RuleMatch& match, const Authority& target,
                    const ip::address& client = any_client) {
    const auto set = must_compile({rule_matching("only", match)});
    return set->decide(target, client).rule_index.has_value();
}

}  // namespace mproxy::proxy::rule_test
