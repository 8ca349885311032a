#pragma once
// The interception rules compiled for matching: immutable once built, shared by every worker
// thread through RuleBook's atomic pointer. The data plane's decisions and the control plane's
// ExplainDecision both come from evaluate(), so what is explained is what is done.

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proxy/http/authority.hpp"
#include "proxy/rules/rule.hpp"

namespace mproxy::proxy {

// A rule refused by validation: `field` names the offending field the way the control plane's
// messages spell it ("match.host_regexes[1]", "reject_status"), `message` says what is wrong.
struct RuleError {
    std::size_t index = 0;  // position of the rule in the list given to compile()
    std::string field;
    std::string message;
};

// The outcome for one (target, client).
struct RuleDecision {
    std::optional<std::size_t> rule_index;  // empty: no rule matched, the default applied
    std::string rule_id;                    // empty when the default applied
    ConnectAction action = ConnectAction::tunnel;
    unsigned reject_status = 403;
    std::string reject_message;
    RuleOptions options;
    std::string reason;  // one line: which rule and which of its entries matched, or "default action X"
};

// Why each rule before the deciding one did not match (explain only).
struct RuleTrace {
    std::string rule_id;
    bool matched = false;
    std::string reason;  // "disabled", "host example.org matches none of ...", "port 80 not in 443", ...
};

struct RuleExplanation {
    RuleDecision decision;
    std::vector<RuleTrace> trace;  // every rule evaluated, in order, up to and including the winner
};

class RuleSet {
public:
    // Validates every rule (ids unique and well-formed, at least one match entry, regexes and CIDRs
    // that parse, port ranges within 1..65535 and first <= last, hosts/suffixes/globs non-empty,
    // reject_status 400..599, message length) and compiles them. The first error refuses the lot.
    static std::variant<std::shared_ptr<const RuleSet>, RuleError> compile(std::vector<Rule> rules,
                                                                          ConnectAction default_action,
                                                                          std::uint64_t generation = 0);
    // Validates one rule alone (its index in the error is 0); id uniqueness is the caller's concern.
    static std::optional<RuleError> validate(const Rule& rule);

    // First enabled rule whose match holds wins; the default action otherwise.
    RuleDecision decide(const Authority& target, const boost::asio::ip::address& client) const;
    // The same evaluation, with the reason every rule before the winner did not match.
    RuleExplanation explain(const Authority& target, const boost::asio::ip::address& client) const;

    const std::vector<Rule>& rules() const { return rules_; }
    ConnectAction default_action() const { return default_action_; }
    // Counts every change made through the control plane; 0 for the set built at start.
    std::uint64_t generation() const { return generation_; }

    struct Compiled;  // per-rule matchers (lower-cased hosts, regexes, parsed networks)
    RuleSet(std::vector<Rule> rules, std::vector<Compiled> compiled, ConnectAction default_action,
            std::uint64_t generation);
    ~RuleSet();

private:
    RuleExplanation evaluate(const Authority& target, const boost::asio::ip::address& client, bool with_trace) const;

    std::vector<Rule> rules_;
    std::vector<Compiled> compiled_;
    ConnectAction default_action_;
    std::uint64_t generation_;
};

// The current rule set. Readers (every CONNECT and plain request) take a snapshot without a lock;
// the control plane publishes a whole new set, so a change applies to the next request and never
// to one in flight.
class RuleBook {
public:
    explicit RuleBook(std::shared_ptr<const RuleSet> initial) : current_(std::move(initial)) {}
    std::shared_ptr<const RuleSet> snapshot() const { return current_.load(std::memory_order_acquire); }
    void publish(std::shared_ptr<const RuleSet> next) {
        current_.store(std::move(next), std::memory_order_release);
        publishes_.fetch_add(1, std::memory_order_relaxed);
    }
    // How many rule sets were put in force since start (the initial one not counted).
    std::uint64_t publishes() const { return publishes_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::shared_ptr<const RuleSet>> current_;
    std::atomic<std::uint64_t> publishes_{0};
};

}  // namespace mproxy::proxy
