// RuleSet: how hosts, ports and clients match, which rule decides, and what explain says.

#include "proxy/rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

#include "tests/proxy/rules/rule_set_builders.hpp"

namespace mproxy::proxy {
namespace {

using namespace rule_test;
namespace ip = boost::asio::ip;

// ---- hosts ----

TEST(RuleSetHosts, ExactIsCaseInsensitiveAndIgnoresTrailingDot) {
    const RuleMatch match = Match().hosts({"Example.COM"});
    EXPECT_TRUE(matches(match, to("example.com")));
    EXPECT_TRUE(matches(match, to("EXAMPLE.com")));
    EXPECT_TRUE(matches(match, to("example.com.")));
    EXPECT_FALSE(matches(match, to("www.example.com")));
    EXPECT_FALSE(matches(match, to("example.co")));
    EXPECT_FALSE(matches(match, to("example.com.evil")));
    EXPECT_FALSE(matches(match, to("")));
    // The rule's own trailing dot means the same name.
    EXPECT_TRUE(matches(Match().hosts({"example.com."}), to("example.com")));
}

TEST(RuleSetHosts, SuffixCoversTheNameAndItsSubdomainsOnly) {
    for (const char* suffix : {"example.com", ".example.com", "EXAMPLE.com"}) {
        SCOPED_TRACE(suffix);
        const RuleMatch match = Match().host_suffixes({suffix});
        EXPECT_TRUE(matches(match, to("example.com")));
        EXPECT_TRUE(matches(match, to("a.example.com")));
        EXPECT_TRUE(matches(match, to("a.b.Example.Com")));
        EXPECT_TRUE(matches(match, to("a.example.com.")));
        EXPECT_FALSE(matches(match, to("badexample.com")));
        EXPECT_FALSE(matches(match, to("example.com.evil")));
        EXPECT_FALSE(matches(match, to("xample.com")));
        EXPECT_FALSE(matches(match, to("com")));
    }
}

TEST(RuleSetHosts, GlobStarAndQuestionMark) {
    const RuleMatch wildcard = Match().host_globs({"*.example.com"});
    EXPECT_TRUE(matches(wildcard, to("a.example.com")));
    EXPECT_TRUE(matches(wildcard, to("a.b.example.com")));  // '*' crosses dots
    EXPECT_TRUE(matches(wildcard, to("X.EXAMPLE.COM.")));
    EXPECT_FALSE(matches(wildcard, to("example.com")));
    EXPECT_FALSE(matches(wildcard, to("a.example.com.evil")));

    const RuleMatch one = Match().host_globs({"api-?.Example.com"});
    EXPECT_TRUE(matches(one, to("api-1.example.com")));
    EXPECT_FALSE(matches(one, to("api-12.example.com")));
    EXPECT_FALSE(matches(one, to("api-.example.com")));

    const RuleMatch empty_run = Match().host_globs({"a*b"});
    EXPECT_TRUE(matches(empty_run, to("ab")));
    EXPECT_TRUE(matches(empty_run, to("a.x.b")));
    EXPECT_FALSE(matches(empty_run, to("abc")));

    const RuleMatch backtracking = Match().host_globs({"a*b*c"});
    EXPECT_TRUE(matches(backtracking, to("axbxbyc")));
    EXPECT_TRUE(matches(backtracking, to("abcbc")));
    EXPECT_FALSE(matches(backtracking, to("axbxby")));

    const RuleMatch everything = Match().host_globs({"*"});
    EXPECT_TRUE(matches(everything, to("anything.at.all")));
    EXPECT_TRUE(matches(everything, to("::1")));
}

TEST(RuleSetHosts, RegexMustMatchTheWholeHostIgnoringCase) {
    const RuleMatch match = Match().host_regexes({R"(api[0-9]+\.example\.com)"});
    EXPECT_TRUE(matches(match, to("api7.example.com")));
    EXPECT_TRUE(matches(match, to("API42.Example.COM")));
    EXPECT_TRUE(matches(match, to("api7.example.com.")));
    EXPECT_FALSE(matches(match, to("xapi7.example.com")));
    EXPECT_FALSE(matches(match, to("api7.example.com.evil")));
    EXPECT_FALSE(matches(match, to("api.example.com")));
}

TEST(RuleSetHosts, Ipv6HostsComeWithoutBrackets) {
    const RuleMatch match = Match().hosts({"2001:DB8::1"});
    EXPECT_TRUE(matches(match, to("2001:db8::1")));
    EXPECT_FALSE(matches(match, to("2001:db8::2")));
}

TEST(RuleSetHosts, TheHostListsAreOneCriterion) {
    const RuleMatch match = Match()
                                .hosts({"a.org"})
                                .host_suffixes({"b.org"})
                                .host_globs({"c*.net"})
                                .host_regexes({"d[0-9]\\.io"});
    EXPECT_TRUE(matches(match, to("a.org")));
    EXPECT_TRUE(matches(match, to("x.b.org")));
    EXPECT_TRUE(matches(match, to("cdn.net")));
    EXPECT_TRUE(matches(match, to("d1.io")));
    EXPECT_FALSE(matches(match, to("e.org")));
}

// ---- ports ----

TEST(RuleSetPorts, SinglePortsAndRangesIncludeTheirEdges) {
    const RuleMatch match = Match().ports({{443, 443}, {8443, 8450}});
    EXPECT_TRUE(matches(match, to("h", 443)));
    EXPECT_FALSE(matches(match, to("h", 442)));
    EXPECT_FALSE(matches(match, to("h", 444)));
    EXPECT_TRUE(matches(match, to("h", 8443)));
    EXPECT_TRUE(matches(match, to("h", 8447)));
    EXPECT_TRUE(matches(match, to("h", 8450)));
    EXPECT_FALSE(matches(match, to("h", 8442)));
    EXPECT_FALSE(matches(match, to("h", 8451)));

    const RuleMatch extremes = Match().ports({{1, 1}, {65535, 65535}});
    EXPECT_TRUE(matches(extremes, to("h", 1)));
    EXPECT_TRUE(matches(extremes, to("h", 65535)));
    EXPECT_FALSE(matches(extremes, to("h", 2)));
    EXPECT_FALSE(matches(extremes, to("h", 65534)));
}

// ---- clients ----

TEST(RuleSetClients, Ipv4Networks) {
    const RuleMatch eight = Match().client_cidrs({"10.0.0.0/8"});
    EXPECT_TRUE(matches(eight, to("h"), from("10.0.0.0")));
    EXPECT_TRUE(matches(eight, to("h"), from("10.255.255.255")));
    EXPECT_FALSE(matches(eight, to("h"), from("11.0.0.0")));
    EXPECT_FALSE(matches(eight, to("h"), from("9.255.255.255")));
    EXPECT_FALSE(matches(eight, to("h"), from("::1")));
    EXPECT_FALSE(matches(eight, to("h"), from("a00::1")));  // first bytes 0a 00, but IPv6

    const RuleMatch odd = Match().client_cidrs({"192.168.1.128/25"});
    EXPECT_TRUE(matches(odd, to("h"), from("192.168.1.128")));
    EXPECT_TRUE(matches(odd, to("h"), from("192.168.1.255")));
    EXPECT_FALSE(matches(odd, to("h"), from("192.168.1.127")));

    const RuleMatch all = Match().client_cidrs({"0.0.0.0/0"});
    EXPECT_TRUE(matches(all, to("h"), from("203.0.113.9")));
    EXPECT_FALSE(matches(all, to("h"), from("2001:db8::1")));
}

TEST(RuleSetClients, HostBitsInTheNetworkAreIgnored) {
    const RuleMatch match = Match().client_cidrs({"10.1.2.3/8"});
    EXPECT_TRUE(matches(match, to("h"), from("10.200.0.1")));
    EXPECT_FALSE(matches(match, to("h"), from("11.1.2.3")));
}

TEST(RuleSetClients, BareAddressIsAHostRoute) {
    const RuleMatch v4 = Match().client_cidrs({"192.0.2.1"});
    EXPECT_TRUE(matches(v4, to("h"), from("192.0.2.1")));
    EXPECT_FALSE(matches(v4, to("h"), from("192.0.2.2")));
    EXPECT_FALSE(matches(v4, to("h"), from("192.0.2.0")));

    const RuleMatch v6 = Match().client_cidrs({"::1"});
    EXPECT_TRUE(matches(v6, to("h"), from("::1")));
    EXPECT_FALSE(matches(v6, to("h"), from("::2")));
    EXPECT_FALSE(matches(v6, to("h"), from("127.0.0.1")));
}

TEST(RuleSetClients, Ipv6Networks) {
    const RuleMatch match = Match().client_cidrs({"2001:db8::/33"});
    EXPECT_TRUE(matches(match, to("h"), from("2001:db8::1")));
    EXPECT_TRUE(matches(match, to("h"), from("2001:db8:7fff:ffff::1")));
    EXPECT_FALSE(matches(match, to("h"), from("2001:db8:8000::")));
    EXPECT_FALSE(matches(match, to("h"), from("2001:db9::1")));
    EXPECT_FALSE(matches(match, to("h"), from("32.1.13.184")));  // 2001:0db8 as IPv4 bytes
}

TEST(RuleSetClients, MappedIpv4ClientsMatchIpv4Networks) {
    const RuleMatch match = Match().client_cidrs({"10.0.0.0/8"});
    EXPECT_TRUE(matches(match, to("h"), from("::ffff:10.1.2.3")));
    EXPECT_FALSE(matches(match, to("h"), from("::ffff:11.1.2.3")));

    const RuleMatch bare = Match().client_cidrs({"192.0.2.1"});
    EXPECT_TRUE(matches(bare, to("h"), from("::ffff:192.0.2.1")));
}

TEST(RuleSetClients, MappedNetworksMatchIpv4Clients) {
    const RuleMatch match = Match().client_cidrs({"::ffff:10.0.0.0/104"});
    EXPECT_TRUE(matches(match, to("h"), from("10.1.2.3")));
    EXPECT_TRUE(matches(match, to("h"), from("::ffff:10.1.2.3")));
    EXPECT_FALSE(matches(match, to("h"), from("11.1.2.3")));
}

TEST(RuleSetClients, AnIpv6CatchAllLeavesIpv4Alone) {
    const RuleMatch match = Match().client_cidrs({"::/0"});
    EXPECT_TRUE(matches(match, to("h"), from("2001:db8::1")));
    EXPECT_FALSE(matches(match, to("h"), from("10.0.0.1")));
    EXPECT_FALSE(matches(match, to("h"), from("::ffff:10.0.0.1")));
}

// ---- decisions ----

Rule corp_mitm() {
    return rule_matching(
        "corp-mitm",
        Match().host_suffixes({"example.com"}).ports({{443, 443}}).client_cidrs({"10.0.0.0/8"}));
}

TEST(RuleSetDecide, CriteriaAreAnded) {
    const auto set = must_compile({corp_mitm()});
    EXPECT_TRUE(set->decide(to("a.example.com", 443), from("10.1.2.3")).rule_index.has_value());
    EXPECT_FALSE(set->decide(to("a.example.org", 443), from("10.1.2.3")).rule_index.has_value());
    EXPECT_FALSE(set->decide(to("a.example.com", 80), from("10.1.2.3")).rule_index.has_value());
    EXPECT_FALSE(set->decide(to("a.example.com", 443), from("192.0.2.1")).rule_index.has_value());
}

TEST(RuleSetDecide, WinningReasonNamesWhatMatched) {
    Rule off = valid_rule("off");  // skipped, so that the winner's index is 1
    off.enabled = false;
    const auto decision =
        must_compile({off, corp_mitm()})->decide(to("a.example.com", 443), from("10.1.2.3"));
    ASSERT_EQ(decision.rule_index, std::optional<std::size_t>(1));
    EXPECT_EQ(decision.rule_id, "corp-mitm");
    EXPECT_EQ(decision.action, ConnectAction::mitm);
    EXPECT_EQ(decision.reason,
              "rule \"corp-mitm\" (#1): host suffix \"example.com\" matched, port 443 in 443, "
              "client 10.1.2.3 in "
              "10.0.0.0/8");
}

TEST(RuleSetDecide, ReasonMentionsOnlyTheRulesCriteria) {
    const auto ports = must_compile({rule_matching("p", Match().ports({{80, 89}}))});
    EXPECT_EQ(ports->decide(to("h", 80), any_client).reason, "rule \"p\" (#0): port 80 in 80-89");

    const auto globs =
        must_compile({rule_matching("g", Match().hosts({"x.org"}).host_globs({"*.Org"}))});
    EXPECT_EQ(globs->decide(to("y.org"), any_client).reason,
              "rule \"g\" (#0): host glob \"*.Org\" matched");
    EXPECT_EQ(globs->decide(to("X.org"), any_client).reason,
              "rule \"g\" (#0): host \"x.org\" matched");

    const auto regex = must_compile({rule_matching("r", Match().host_regexes({"a+"}))});
    EXPECT_EQ(regex->decide(to("aaa"), any_client).reason,
              "rule \"r\" (#0): host regex \"a+\" matched");

    const auto client = must_compile({rule_matching("c", Match().client_cidrs({"::1"}))});
    EXPECT_EQ(client->decide(to("h"), from("::1")).reason, "rule \"c\" (#0): client ::1 in ::1");
}

TEST(RuleSetDecide, FirstMatchWins) {
    Rule broad = rule_matching("broad", Match().host_globs({"*"}), ConnectAction::tunnel);
    Rule narrow = rule_matching("narrow", Match().hosts({"a.org"}), ConnectAction::mitm);

    const auto narrow_first = must_compile({narrow, broad});
    EXPECT_EQ(narrow_first->decide(to("a.org"), any_client).rule_id, "narrow");
    EXPECT_EQ(narrow_first->decide(to("a.org"), any_client).action, ConnectAction::mitm);
    EXPECT_EQ(narrow_first->decide(to("b.org"), any_client).rule_id, "broad");
    EXPECT_EQ(narrow_first->decide(to("b.org"), any_client).rule_index,
              std::optional<std::size_t>(1));

    const auto broad_first = must_compile({broad, narrow});
    EXPECT_EQ(broad_first->decide(to("a.org"), any_client).rule_id, "broad");
    EXPECT_EQ(broad_first->decide(to("a.org"), any_client).action, ConnectAction::tunnel);
}

TEST(RuleSetDecide, DisabledRulesAreSkipped) {
    Rule off = rule_matching("off", Match().host_globs({"*"}), ConnectAction::reject);
    off.enabled = false;
    Rule on = rule_matching("on", Match().host_globs({"*"}), ConnectAction::http);
    const auto set = must_compile({off, on});
    const auto decision = set->decide(to("a.org"), any_client);
    EXPECT_EQ(decision.rule_index, std::optional<std::size_t>(1));
    EXPECT_EQ(decision.action, ConnectAction::http);

    const auto explanation = set->explain(to("a.org"), any_client);
    ASSERT_EQ(explanation.trace.size(), 2u);
    EXPECT_EQ(explanation.trace[0].rule_id, "off");
    EXPECT_FALSE(explanation.trace[0].matched);
    EXPECT_EQ(explanation.trace[0].reason, "disabled");

    const auto only_off = must_compile({off}, ConnectAction::tunnel);
    EXPECT_FALSE(only_off->decide(to("a.org"), any_client).rule_index.has_value());
}

TEST(RuleSetDecide, DefaultActionWhenNothingMatches) {
    const auto set = must_compile(
        {rule_matching("a", Match().hosts({"a.org"}), ConnectAction::mitm)}, ConnectAction::reject);
    const auto decision = set->decide(to("b.org"), any_client);
    EXPECT_FALSE(decision.rule_index.has_value());
    EXPECT_TRUE(decision.rule_id.empty());
    EXPECT_EQ(decision.action, ConnectAction::reject);
    EXPECT_EQ(decision.reason, "no rule matched: default action reject");

    const auto empty = must_compile({}, ConnectAction::http);
    const auto fallback = empty->decide(to("b.org"), any_client);
    EXPECT_EQ(fallback.action, ConnectAction::http);
    EXPECT_EQ(fallback.reason, "no rule matched: default action http");
    EXPECT_TRUE(empty->explain(to("b.org"), any_client).trace.empty());
}

TEST(RuleSetDecide, RejectFieldsAndOptionsAreCopied) {
    Rule rule = rule_matching("block", Match().hosts({"bad.org"}), ConnectAction::reject);
    rule.reject_status = 451;
    rule.reject_message = "blocked by policy";
    rule.options.upstream_insecure = true;
    rule.options.expect = ExpectPolicy::answer_locally;
    const auto decision = must_compile({rule})->decide(to("bad.org"), any_client);
    EXPECT_EQ(decision.action, ConnectAction::reject);
    EXPECT_EQ(decision.reject_status, 451u);
    EXPECT_EQ(decision.reject_message, "blocked by policy");
    EXPECT_EQ(decision.options, rule.options);
}

// ---- explain ----

TEST(RuleSetExplain, MissReasonsNameTheFailingCriterion) {
    Rule host = rule_matching("host", Match()
                                          .hosts({"b.org"})
                                          .host_suffixes({"c.org"})
                                          .host_globs({"*.d.org"})
                                          .host_regexes({"e+\\.org"}));
    Rule host_only = rule_matching("host-only", Match().host_suffixes({"z.org", ".y.org"}));
    Rule port = rule_matching("port", Match().host_globs({"*"}).ports({{443, 443}, {8443, 8450}}));
    Rule client =
        rule_matching("client", Match().host_globs({"*"}).client_cidrs({"10.0.0.0/8", "::1"}));
    const auto set = must_compile({host, host_only, port, client});
    const auto explanation = set->explain(to("a.org", 80), from("192.0.2.1"));
    ASSERT_EQ(explanation.trace.size(), 4u);
    EXPECT_EQ(explanation.trace[0].reason,
              "host a.org matches none of: hosts [\"b.org\"], suffixes [\"c.org\"], globs "
              "[\"*.d.org\"], regexes "
              "[\"e+\\.org\"]");
    EXPECT_EQ(explanation.trace[1].reason,
              "host a.org matches none of: suffixes [\"z.org\", \".y.org\"]");
    EXPECT_EQ(explanation.trace[2].reason, "port 80 not in 443, 8443-8450");
    EXPECT_EQ(explanation.trace[3].reason, "client 192.0.2.1 not in 10.0.0.0/8, ::1");
    for (const auto& step : explanation.trace) EXPECT_FALSE(step.matched);
    EXPECT_FALSE(explanation.decision.rule_index.has_value());
}

TEST(RuleSetExplain, StopsAtTheWinner) {
    const auto set = must_compile({rule_matching("a", Match().hosts({"a.org"})),
                                   rule_matching("b", Match().hosts({"b.org"})),
                                   rule_matching("c", Match().host_globs({"*"}))});
    const auto explanation = set->explain(to("b.org"), any_client);
    ASSERT_EQ(explanation.trace.size(), 2u);
    EXPECT_EQ(explanation.trace[0].rule_id, "a");
    EXPECT_FALSE(explanation.trace[0].matched);
    EXPECT_EQ(explanation.trace[1].rule_id, "b");
    EXPECT_TRUE(explanation.trace[1].matched);
    EXPECT_EQ(explanation.trace[1].reason, explanation.decision.reason);
}

TEST(RuleSetExplain, AgreesWithDecide) {
    Rule off = rule_matching("off", Match().host_globs({"*"}), ConnectAction::reject);
    off.enabled = false;
    Rule block = rule_matching("block", Match().host_suffixes({"bad.org"}), ConnectAction::reject);
    block.reject_status = 451;
    block.reject_message = "no";
    Rule mitm = corp_mitm();
    mitm.options.upstream_insecure = true;
    Rule plain =
        rule_matching("plain", Match().ports({{80, 80}, {8080, 8089}}), ConnectAction::http);
    Rule v6 =
        rule_matching("v6", Match().host_regexes({"api\\d*\\..+"}).client_cidrs({"2001:db8::/32"}));
    const auto set = must_compile({off, block, mitm, plain, v6}, ConnectAction::tunnel);

    struct Case {
        const char* host;
        std::uint16_t port;
        const char* client;
        std::optional<std::size_t> expected;
    };
    const std::vector<Case> cases = {
        {"x.bad.org", 443, "10.0.0.1", 1},
        {"bad.org.", 80, "10.0.0.1", 1},
        {"badbad.org", 80, "10.0.0.1", 3},
        {"www.example.com", 443, "10.9.9.9", 2},
        {"www.example.com", 443, "::ffff:10.9.9.9", 2},
        {"www.example.com", 443, "192.0.2.1", std::nullopt},
        {"www.example.com", 8085, "192.0.2.1", 3},
        {"API3.example.net", 443, "2001:db8::5", 4},
        {"api3.example.net", 443, "2001:db9::5", std::nullopt},
        {"::1", 22, "::1", std::nullopt},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.host) + ":" + std::to_string(c.port) + " from " + c.client);
        const auto target = to(c.host, c.port);
        const auto client = from(c.client);
        const auto decision = set->decide(target, client);
        const auto explanation = set->explain(target, client);
        EXPECT_EQ(decision.rule_index, c.expected);
        EXPECT_EQ(explanation.decision.rule_index, decision.rule_index);
        EXPECT_EQ(explanation.decision.rule_id, decision.rule_id);
        EXPECT_EQ(explanation.decision.action, decision.action);
        EXPECT_EQ(explanation.decision.reject_status, decision.reject_status);
        EXPECT_EQ(explanation.decision.reject_message, decision.reject_message);
        EXPECT_EQ(explanation.decision.options, decision.options);
        EXPECT_EQ(explanation.decision.reason, decision.reason);

        const std::size_t evaluated =
            decision.rule_index ? *decision.rule_index + 1 : set->rules().size();
        ASSERT_EQ(explanation.trace.size(), evaluated);
        for (std::size_t i = 0; i < evaluated; ++i) {
            EXPECT_EQ(explanation.trace[i].rule_id, set->rules()[i].id);
            const bool winner = decision.rule_index == i;
            EXPECT_EQ(explanation.trace[i].matched, winner);
            EXPECT_FALSE(explanation.trace[i].reason.empty());
        }
        if (decision.rule_index) {
            EXPECT_EQ(decision.rule_id, set->rules()[*decision.rule_index].id);
            EXPECT_EQ(decision.action, set->rules()[*decision.rule_index].action);
        } else {
            EXPECT_EQ(decision.action, ConnectAction::tunnel);
            EXPECT_EQ(decision.reason, "no rule matched: default action tunnel");
        }
    }
}

TEST(RuleExpectPolicy, Names) {
    EXPECT_EQ(to_string(ExpectPolicy::forward), "forward");
    EXPECT_EQ(to_string(ExpectPolicy::answer_locally), "answer_locally");
    EXPECT_EQ(to_string(ExpectPolicy::reject), "reject");
}

}  // namespace
}  // namespace mproxy::proxy
