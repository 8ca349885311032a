#pragma once
// An interception rule as plain values: what it matches, what it does, and its options. The
// control plane translates its protobuf messages to and from these; the data plane only ever sees
// them compiled into a RuleSet.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/rules/capture_policy.hpp"
#include "proxy/rules/connect_action.hpp"

namespace mproxy::proxy {

// What to do with `Expect: 100-continue` on requests a rule covers.
enum class ExpectPolicy {
    forward,         // pass it on; the origin's 100 (or early answer) is relayed as it comes
    answer_locally,  // mproxy answers 100 at once and strips the expectation before forwarding
    reject,          // 417 Expectation Failed, the origin is not contacted
};
std::string_view to_string(ExpectPolicy policy);

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;  // inclusive; equal to first for a single port
    bool operator==(const PortRange&) const = default;
};

// Each non-empty list is one criterion; a criterion holds when any of its entries matches, and the
// rule matches when every criterion holds. The host lists together form one criterion (a host
// matches when it is any of `hosts`, under any of `host_suffixes`, ...). A match with no entries
// at all is invalid: a catch-all rule says so with host_globs = {"*"}.
struct RuleMatch {
    std::vector<std::string> hosts;          // exact, case-insensitive
    std::vector<std::string> host_suffixes;  // "example.com" matches it and every name under it
    std::vector<std::string> host_globs;     // '*' any run of characters (dots too), '?' one character
    std::vector<std::string> host_regexes;   // ECMAScript syntax, must match the whole host, case-insensitive
    std::vector<PortRange> ports;
    std::vector<std::string> client_cidrs;   // "10.0.0.0/8", "::1/128"; a bare address is a /32 or /128
    bool operator==(const RuleMatch&) const = default;
};

struct RuleOptions {
    bool upstream_insecure = false;  // do not verify the origin's certificate (mitm)
    ExpectPolicy expect = ExpectPolicy::forward;
    std::optional<CapturePolicy> capture;  // nullopt: the server's default capture policy
    bool operator==(const RuleOptions&) const = default;
};

struct Rule {
    std::string id;           // unique, [A-Za-z0-9._-]{1,64}
    std::string description;  // free text for people
    bool enabled = true;
    RuleMatch match;
    ConnectAction action = ConnectAction::tunnel;
    unsigned reject_status = 403;  // reject only: 400..599
    std::string reject_message;    // reject only: put in the answer's body, at most 1024 bytes
    RuleOptions options;
    std::uint64_t version = 1;     // bumped by every update; UpdateRule compares it
    bool operator==(const Rule&) const = default;
};

}  // namespace mproxy::proxy
