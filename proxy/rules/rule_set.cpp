#include "proxy/rules/rule_set.hpp"

#include "proxy/rules/host_glob.hpp"
#include "proxy/rules/ip_network.hpp"

#include <algorithm>
#include <boost/regex.hpp>
#include <string_view>
#include <unordered_map>

namespace mproxy::proxy {

namespace ip = boost::asio::ip;

// What matching needs, prepared once so that a request does no parsing and no lower-casing of the
// rule's side. Each list is parallel to the rule's own list, so an index names the entry as written.
struct RuleSet::Compiled {
    std::vector<std::string> hosts;          // lower-case, no trailing dot
    std::vector<std::string> host_suffixes;  // lower-case, no leading or trailing dot
    std::vector<std::string> host_globs;     // lower-case
    std::vector<boost::regex> host_regexes;
    std::vector<IpNetwork> client_networks;
};

namespace {

using Compiled = RuleSet::Compiled;

constexpr std::size_t max_id_length = 64;
constexpr std::size_t max_name_length = 253;  // a DNS name's limit
constexpr std::size_t max_regex_length = 1024;
constexpr std::size_t max_reject_message_length = 1024;



std::string lowered(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// `lowered_entry` is already lower-case, so only the target's side is folded, without a copy.
bool equals_folded(std::string_view target, std::string_view lowered_entry) {
    if (target.size() != lowered_entry.size()) return false;
    for (std::size_t i = 0; i < target.size(); ++i)
        if (ascii_lower(target[i]) != lowered_entry[i]) return false;
    return true;
}

std::string field_at(std::string_view list, std::size_t index) {
    return "match." + std::string(list) + "[" + std::to_string(index) + "]";
}

// Built by appending: GCC 12 reports `"literal" + std::string` as an overlapping memcpy (-Wrestrict).
std::string quoted(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return out;
}

// ---- validation, one field at a time; each returns the message for a bad value ----

std::optional<std::string> check_id(std::string_view id) {
    if (id.empty()) return "id is empty";
    if (id.size() > max_id_length) return "id is longer than 64 characters";
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        if (!ok) return "id " + quoted(id) + " has characters other than A-Z a-z 0-9 . _ -";
    }
    return std::nullopt;
}

std::optional<std::string> check_name_text(std::string_view text) {
    if (text.empty()) return "empty";
    if (text.size() > max_name_length) return "longer than 253 characters";
    for (unsigned char c : text)
        if (c <= 0x20 || c == 0x7f) return quoted(text) + " contains whitespace or a control character";
    return std::nullopt;
}

// Hosts and suffixes drop a trailing dot, as the target's host does, so "example.com." and
// "example.com" mean the same; a suffix may also start with a dot (".example.com"), as in curl's
// no_proxy and most proxies' ACLs. Returns the problem, or fills `name`.
std::optional<std::string> normalise_name(std::string_view text, bool is_suffix, std::string& name) {
    if (auto error = check_name_text(text)) return error;
    if (is_suffix && text.front() == '.') text.remove_prefix(1);
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.empty()) return "is only dots";
    name = lowered(text);
    return std::nullopt;
}

// Validation and compilation are one pass, so what validate() accepts is exactly what compile() builds.
std::variant<Compiled, RuleError> compile_rule(const Rule& rule) {
    const auto error = [](std::string field, std::string message) {
        return std::variant<Compiled, RuleError>(RuleError{0, std::move(field), std::move(message)});
    };
    if (auto message = check_id(rule.id)) return error("id", *message);

    const RuleMatch& match = rule.match;
    if (match.hosts.empty() && match.host_suffixes.empty() && match.host_globs.empty() &&
        match.host_regexes.empty() && match.ports.empty() && match.client_cidrs.empty()) {
        return error("match",
                     "empty match: give at least one host, suffix, glob, regex, port or client CIDR "
                     "(use host_globs [\"*\"] to match everything)");
    }

    Compiled compiled;
    for (std::size_t i = 0; i < match.hosts.size(); ++i) {
        if (auto message = normalise_name(match.hosts[i], false, compiled.hosts.emplace_back()))
            return error(field_at("hosts", i), "host " + *message);
    }
    for (std::size_t i = 0; i < match.host_suffixes.size(); ++i) {
        if (auto message = normalise_name(match.host_suffixes[i], true, compiled.host_suffixes.emplace_back()))
            return error(field_at("host_suffixes", i), "host suffix " + *message);
    }
    for (std::size_t i = 0; i < match.host_globs.size(); ++i) {
        if (auto message = check_name_text(match.host_globs[i]))
            return error(field_at("host_globs", i), "host glob " + *message);
        compiled.host_globs.push_back(lowered(match.host_globs[i]));
    }
    for (std::size_t i = 0; i < match.host_regexes.size(); ++i) {
        const std::string& pattern = match.host_regexes[i];
        if (pattern.size() > max_regex_length)
            return error(field_at("host_regexes", i), "host regex is longer than 1024 characters");
        try {
            compiled.host_regexes.emplace_back(pattern, boost::regex::ECMAScript | boost::regex::icase);
        } catch (const boost::regex_error& e) {
            return error(field_at("host_regexes", i),
                         "host regex " + quoted(pattern) + " does not compile: " + e.what());
        }
    }
    for (std::size_t i = 0; i < match.ports.size(); ++i) {
        const PortRange& range = match.ports[i];
        if (range.first == 0) return error(field_at("ports", i), "port 0 is not a port: ports are 1..65535");
        if (range.first > range.last) {
            return error(field_at("ports", i), "port range " + std::to_string(range.first) + "-" +
                                                   std::to_string(range.last) + " ends before it starts");
        }
    }
    for (std::size_t i = 0; i < match.client_cidrs.size(); ++i) {
        auto network = IpNetwork::parse(match.client_cidrs[i]);
        if (network.index() == 1) return error(field_at("client_cidrs", i), "client CIDR " + std::get<1>(network));
        compiled.client_networks.push_back(std::get<0>(network));
    }

    if (rule.action == ConnectAction::reject && (rule.reject_status < 400 || rule.reject_status > 599))
        return error("reject_status", "reject_status must be 400..599, not " + std::to_string(rule.reject_status));
    if (rule.reject_message.size() > max_reject_message_length) {
        return error("reject_message", "reject_message is " + std::to_string(rule.reject_message.size()) +
                                           " bytes, more than 1024");
    }
    if (rule.reject_message.find_first_of("\r\n") != std::string::npos)
        return error("reject_message", "reject_message must be one line: it contains CR or LF");
    return compiled;
}

// ---- matching: no allocation; a result records which entries matched, text comes later ----

// "example.com" covers itself and every name under it, but not "badexample.com".
bool under_suffix(std::string_view host, std::string_view suffix) {
    if (host.size() < suffix.size()) return false;
    const std::size_t start = host.size() - suffix.size();
    if (!equals_folded(host.substr(start), suffix)) return false;
    return start == 0 || host[start - 1] == '.';
}

bool regex_matches(const boost::regex& regex, std::string_view host) {
    try {
        return boost::regex_match(host.begin(), host.end(), regex);
    } catch (const std::runtime_error&) {
        return false;  // Boost gave up on a pathological pattern: a request must not fail because of it
    }
}

enum class HostEntry { none, exact, suffix, glob, regex };
enum class Miss { none, disabled, host, port, client };

struct MatchResult {
    Miss miss = Miss::none;
    HostEntry host_entry = HostEntry::none;  // none: the rule has no host criterion
    std::size_t host_index = 0;
    std::optional<std::size_t> port_index;     // empty: the rule has no port criterion
    std::optional<std::size_t> network_index;  // empty: the rule has no client criterion
};

bool has_host_criterion(const Compiled& compiled) {
    return !compiled.hosts.empty() || !compiled.host_suffixes.empty() || !compiled.host_globs.empty() ||
           !compiled.host_regexes.empty();
}

// Cheapest lists first; the regexes last.
bool match_host(const Compiled& compiled, std::string_view host, MatchResult& result) {
    const auto found = [&](HostEntry entry, std::size_t index) {
        result.host_entry = entry;
        result.host_index = index;
        return true;
    };
    for (std::size_t i = 0; i < compiled.hosts.size(); ++i)
        if (equals_folded(host, compiled.hosts[i])) return found(HostEntry::exact, i);
    for (std::size_t i = 0; i < compiled.host_suffixes.size(); ++i)
        if (under_suffix(host, compiled.host_suffixes[i])) return found(HostEntry::suffix, i);
    for (std::size_t i = 0; i < compiled.host_globs.size(); ++i)
        if (host_glob_matches(compiled.host_globs[i], host)) return found(HostEntry::glob, i);
    for (std::size_t i = 0; i < compiled.host_regexes.size(); ++i)
        if (regex_matches(compiled.host_regexes[i], host)) return found(HostEntry::regex, i);
    return false;
}

// `host` has its trailing dot removed, `client` is unmapped.
MatchResult match_rule(const Rule& rule, const Compiled& compiled, std::string_view host, std::uint16_t port,
                       const ip::address& client) {
    MatchResult result;
    if (!rule.enabled) {
        result.miss = Miss::disabled;
        return result;
    }
    if (has_host_criterion(compiled) && !match_host(compiled, host, result)) {
        result.miss = Miss::host;
        return result;
    }
    if (!rule.match.ports.empty()) {
        for (std::size_t i = 0; i < rule.match.ports.size() && !result.port_index; ++i)
            if (port >= rule.match.ports[i].first && port <= rule.match.ports[i].last) result.port_index = i;
        if (!result.port_index) {
            result.miss = Miss::port;
            return result;
        }
    }
    if (!compiled.client_networks.empty()) {
        for (std::size_t i = 0; i < compiled.client_networks.size() && !result.network_index; ++i)
            if (compiled.client_networks[i].contains(client)) result.network_index = i;
        if (!result.network_index) result.miss = Miss::client;
    }
    return result;
}

// ---- the words: built only for the winner, and for every rule when explaining ----

std::string port_range_text(const PortRange& range) {
    if (range.first == range.last) return std::to_string(range.first);
    return std::to_string(range.first) + "-" + std::to_string(range.last);
}

void append_quoted_list(std::string& out, bool& first, std::string_view label,
                        const std::vector<std::string>& entries) {
    if (entries.empty()) return;
    if (!first) out += ", ";
    first = false;
    out += label;
    out += " [";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += ", ";
        out += quoted(entries[i]);
    }
    out += "]";
}

std::string match_reason(const Rule& rule, std::size_t index, const MatchResult& result, std::uint16_t port,
                         const ip::address& client) {
    std::string reason = "rule " + quoted(rule.id) + " (#" + std::to_string(index) + "):";
    std::string_view separator = " ";
    const auto part = [&](const std::string& text) {
        reason += separator;
        reason += text;
        separator = ", ";
    };
    const RuleMatch& match = rule.match;
    const std::size_t at = result.host_index;
    switch (result.host_entry) {
        case HostEntry::none: break;
        case HostEntry::exact: part("host " + quoted(match.hosts[at]) + " matched"); break;
        case HostEntry::suffix: part("host suffix " + quoted(match.host_suffixes[at]) + " matched"); break;
        case HostEntry::glob: part("host glob " + quoted(match.host_globs[at]) + " matched"); break;
        case HostEntry::regex: part("host regex " + quoted(match.host_regexes[at]) + " matched"); break;
    }
    if (result.port_index)
        part("port " + std::to_string(port) + " in " + port_range_text(match.ports[*result.port_index]));
    if (result.network_index)
        part("client " + client.to_string() + " in " + match.client_cidrs[*result.network_index]);
    return reason;
}

std::string miss_reason(const Rule& rule, const MatchResult& result, const Authority& target,
                        const ip::address& client) {
    const RuleMatch& match = rule.match;
    std::string reason;
    switch (result.miss) {
        case Miss::none: break;
        case Miss::disabled: reason = "disabled"; break;
        case Miss::host: {
            reason = "host " + target.host + " matches none of: ";
            bool first = true;
            append_quoted_list(reason, first, "hosts", match.hosts);
            append_quoted_list(reason, first, "suffixes", match.host_suffixes);
            append_quoted_list(reason, first, "globs", match.host_globs);
            append_quoted_list(reason, first, "regexes", match.host_regexes);
            break;
        }
        case Miss::port:
            reason = "port " + std::to_string(target.port) + " not in ";
            for (std::size_t i = 0; i < match.ports.size(); ++i)
                reason += (i > 0 ? ", " : "") + port_range_text(match.ports[i]);
            break;
        case Miss::client:
            reason = "client " + client.to_string() + " not in ";
            for (std::size_t i = 0; i < match.client_cidrs.size(); ++i)
                reason += (i > 0 ? ", " : "") + match.client_cidrs[i];
            break;
    }
    return reason;
}

}  // namespace

RuleSet::RuleSet(std::vector<Rule> rules, std::vector<Compiled> compiled, ConnectAction default_action,
                 std::uint64_t generation)
    : rules_(std::move(rules)),
      compiled_(std::move(compiled)),
      default_action_(default_action),
      generation_(generation) {}

RuleSet::~RuleSet() = default;

std::variant<std::shared_ptr<const RuleSet>, RuleError> RuleSet::compile(std::vector<Rule> rules,
                                                                        ConnectAction default_action,
                                                                        std::uint64_t generation) {
    std::vector<Compiled> compiled;
    compiled.reserve(rules.size());
    std::unordered_map<std::string_view, std::size_t> first_with_id;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        // A rule's own id is checked before uniqueness, so a malformed id is reported as such.
        if (auto message = check_id(rules[i].id)) return RuleError{i, "id", std::move(*message)};
        const auto [earlier, inserted] = first_with_id.emplace(rules[i].id, i);
        if (!inserted) {
            return RuleError{i, "id",
                             "duplicate id " + quoted(rules[i].id) + ": rule #" + std::to_string(earlier->second) +
                                 " already has it"};
        }
        auto result = compile_rule(rules[i]);
        if (auto* error = std::get_if<RuleError>(&result)) {
            error->index = i;
            return std::move(*error);
        }
        compiled.push_back(std::move(std::get<Compiled>(result)));
    }
    return std::make_shared<const RuleSet>(std::move(rules), std::move(compiled), default_action, generation);
}

std::optional<RuleError> RuleSet::validate(const Rule& rule) {
    auto result = compile_rule(rule);
    if (auto* error = std::get_if<RuleError>(&result)) return std::move(*error);
    return std::nullopt;
}

RuleDecision RuleSet::decide(const Authority& target, const ip::address& client) const {
    return evaluate(target, client, false).decision;
}

RuleExplanation RuleSet::explain(const Authority& target, const ip::address& client) const {
    return evaluate(target, client, true);
}

RuleExplanation RuleSet::evaluate(const Authority& target, const ip::address& client, bool with_trace) const {
    std::string_view host = target.host;
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "example.com." is "example.com"
    const auto client_unmapped = unmapped(client);

    RuleExplanation explanation;
    if (with_trace) explanation.trace.reserve(rules_.size());
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const Rule& rule = rules_[i];
        const MatchResult result = match_rule(rule, compiled_[i], host, target.port, client_unmapped);
        if (result.miss != Miss::none) {
            if (with_trace) explanation.trace.push_back({rule.id, false, miss_reason(rule, result, target, client)});
            continue;
        }
        RuleDecision& decision = explanation.decision;
        decision.rule_index = i;
        decision.rule_id = rule.id;
        decision.action = rule.action;
        decision.reject_status = rule.reject_status;
        decision.reject_message = rule.reject_message;
        decision.options = rule.options;
        decision.reason = match_reason(rule, i, result, target.port, client);
        if (with_trace) explanation.trace.push_back({rule.id, true, decision.reason});
        return explanation;
    }
    explanation.decision.action = default_action_;
    explanation.decision.reason = "no rule matched: default action " + std::string(to_string(default_action_));
    return explanation;
}

}  // namespace mproxy::proxy
