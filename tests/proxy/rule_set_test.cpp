#include "proxy/rule_set.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

namespace mproxy::proxy {
namespace {

namespace ip = boost::asio::ip;

Rule valid_rule(std::string id = "r1") {
    Rule rule;
    rule.id = std::move(id);
    rule.match.host_globs = {"*"};
    return rule;
}

Rule rule_matching(std::string id, RuleMatch match, ConnectAction action = ConnectAction::mitm) {
    Rule rule;
    rule.id = std::move(id);
    rule.match = std::move(match);
    rule.action = action;
    return rule;
}

// Throwing fails the test with the validation message, instead of dereferencing nothing.
std::shared_ptr<const RuleSet> must_compile(std::vector<Rule> rules,
                                            ConnectAction default_action = ConnectAction::tunnel,
                                            std::uint64_t generation = 0) {
    auto result = RuleSet::compile(std::move(rules), default_action, generation);
    if (const auto* error = std::get_if<RuleError>(&result))
        throw std::runtime_error("rule #" + std::to_string(error->index) + " " + error->field + ": " + error->message);
    return std::get<std::shared_ptr<const RuleSet>>(result);
}

std::optional<RuleError> compile_error(std::vector<Rule> rules) {
    auto result = RuleSet::compile(std::move(rules), ConnectAction::tunnel);
    if (auto* error = std::get_if<RuleError>(&result)) return *error;
    return std::nullopt;
}

Authority to(std::string host, std::uint16_t port = 443) { return Authority{std::move(host), port}; }
ip::address from(const char* address) { return ip::make_address(address); }

// Designated initializers would read better, but GCC 12 reports them under -Wmissing-field-initializers.
struct Match {
    RuleMatch match;
    Match& hosts(std::vector<std::string> v) { return set(match.hosts, std::move(v)); }
    Match& host_suffixes(std::vector<std::string> v) { return set(match.host_suffixes, std::move(v)); }
    Match& host_globs(std::vector<std::string> v) { return set(match.host_globs, std::move(v)); }
    Match& host_regexes(std::vector<std::string> v) { return set(match.host_regexes, std::move(v)); }
    Match& ports(std::vector<PortRange> v) { return set(match.ports, std::move(v)); }
    Match& client_cidrs(std::vector<std::string> v) { return set(match.client_cidrs, std::move(v)); }
    operator RuleMatch() const { return match; }

private:
    template <class T>
    Match& set(T& field, T value) {
        field = std::move(value);
        return *this;
    }
};

const ip::address any_client = ip::make_address("192.0.2.10");

bool matches(const RuleMatch& match, const Authority& target, const ip::address& client = any_client) {
    const auto set = must_compile({rule_matching("only", match)});
    return set->decide(target, client).rule_index.has_value();
}

// ---- validation ----

struct ValidationCase {
    const char* name;
    std::function<void(Rule&)> spoil;
    const char* field;
    const char* message_part;
};

TEST(RuleSetValidate, EachBadFieldIsNamed) {
    const std::vector<ValidationCase> cases = {
        {"empty id", [](Rule& r) { r.id = ""; }, "id", "empty"},
        {"long id", [](Rule& r) { r.id = std::string(65, 'a'); }, "id", "64"},
        {"id with space", [](Rule& r) { r.id = "a b"; }, "id", "A-Z"},
        {"id with slash", [](Rule& r) { r.id = "a/b"; }, "id", "A-Z"},
        {"empty match", [](Rule& r) { r.match = {}; }, "match",
         "empty match: give at least one host, suffix, glob, regex, port or client CIDR (use host_globs [\"*\"] "
         "to match everything)"},
        {"empty host", [](Rule& r) { r.match.hosts = {""}; }, "match.hosts[0]", "empty"},
        {"host with space", [](Rule& r) { r.match.hosts = {"ok.org", "a b"}; }, "match.hosts[1]", "whitespace"},
        {"host with control", [](Rule& r) { r.match.hosts = {"a\x01.org"}; }, "match.hosts[0]", "control"},
        {"host with DEL", [](Rule& r) { r.match.hosts = {"a\x7f.org"}; }, "match.hosts[0]", "control"},
        {"long host", [](Rule& r) { r.match.hosts = {std::string(254, 'a')}; }, "match.hosts[0]", "253"},
        {"host only a dot", [](Rule& r) { r.match.hosts = {"."}; }, "match.hosts[0]", "dots"},
        {"suffix only a dot", [](Rule& r) { r.match.host_suffixes = {"a.org", ".b.org", "."}; },
         "match.host_suffixes[2]", "dots"},
        {"empty suffix", [](Rule& r) { r.match.host_suffixes = {""}; }, "match.host_suffixes[0]", "empty"},
        {"suffix with tab", [](Rule& r) { r.match.host_suffixes = {"a\t.org"}; }, "match.host_suffixes[0]",
         "whitespace"},
        {"empty glob", [](Rule& r) { r.match.host_globs = {""}; }, "match.host_globs[0]", "empty"},
        {"glob with newline", [](Rule& r) { r.match.host_globs = {"*", "*.org\n"}; }, "match.host_globs[1]",
         "whitespace"},
        {"long glob", [](Rule& r) { r.match.host_globs = {std::string(254, '*')}; }, "match.host_globs[0]", "253"},
        {"regex unbalanced", [](Rule& r) { r.match.host_regexes = {"ok", "(abc"}; }, "match.host_regexes[1]",
         "does not compile: "},
        {"regex bad class", [](Rule& r) { r.match.host_regexes = {"[z-a]"}; }, "match.host_regexes[0]",
         "does not compile: "},
        {"long regex", [](Rule& r) { r.match.host_regexes = {std::string(1025, 'a')}; }, "match.host_regexes[0]",
         "1024"},
        {"port zero", [](Rule& r) { r.match.ports = {{0, 0}}; }, "match.ports[0]", "1..65535"},
        {"range from zero", [](Rule& r) { r.match.ports = {{443, 443}, {0, 80}}; }, "match.ports[1]", "1..65535"},
        {"range backwards", [](Rule& r) { r.match.ports = {{90, 80}}; }, "match.ports[0]", "90-80"},
        {"cidr prefix too long", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/33"}; }, "match.client_cidrs[0]",
         "0..32"},
        {"cidr empty prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/"}; }, "match.client_cidrs[0]",
         "prefix"},
        {"cidr word prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/x"}; }, "match.client_cidrs[0]",
         "prefix"},
        {"cidr negative prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/-1"}; }, "match.client_cidrs[0]",
         "prefix"},
        {"cidr prefix with space", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/8 "}; },
         "match.client_cidrs[0]", "prefix"},
        {"cidr bad address", [](Rule& r) { r.match.client_cidrs = {"::1", "10.0.0.256/8"}; },
         "match.client_cidrs[1]", "not an IPv4 or IPv6 address"},
        {"cidr name", [](Rule& r) { r.match.client_cidrs = {"localhost"}; }, "match.client_cidrs[0]",
         "not an IPv4 or IPv6 address"},
        {"cidr empty", [](Rule& r) { r.match.client_cidrs = {""}; }, "match.client_cidrs[0]", "not an IPv4"},
        {"v6 prefix too long", [](Rule& r) { r.match.client_cidrs = {"2001:db8::/129"}; }, "match.client_cidrs[0]",
         "0..128"},
        {"reject status low",
         [](Rule& r) {
             r.action = ConnectAction::reject;
             r.reject_status = 399;
         },
         "reject_status", "400..599"},
        {"reject status high",
         [](Rule& r) {
             r.action = ConnectAction::reject;
             r.reject_status = 600;
         },
         "reject_status", "400..599"},
        {"long reject message", [](Rule& r) { r.reject_message = std::string(1025, 'x'); }, "reject_message",
         "1024"},
        {"reject message with LF", [](Rule& r) { r.reject_message = "one\ntwo"; }, "reject_message", "one line"},
        {"reject message with CR", [](Rule& r) { r.reject_message = "one\rtwo"; }, "reject_message", "one line"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Rule rule = valid_rule();
        c.spoil(rule);
        const auto error = RuleSet::validate(rule);
        ASSERT_TRUE(error.has_value());
        EXPECT_EQ(error->index, 0u);
        EXPECT_EQ(error->field, c.field) << error->message;
        EXPECT_NE(error->message.find(c.message_part), std::string::npos) << error->message;

        // compile() refuses the same rule, at its position in the list.
        const auto refused = compile_error({valid_rule("first"), rule});
        ASSERT_TRUE(refused.has_value());
        EXPECT_EQ(refused->index, 1u);
        EXPECT_EQ(refused->field, c.field);
        EXPECT_EQ(refused->message, error->message);
    }
}

TEST(RuleSetValidate, EmptyMatchMessageIsExact) {
    Rule rule = valid_rule();
    rule.match = {};
    const auto error = RuleSet::validate(rule);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->message,
              "empty match: give at least one host, suffix, glob, regex, port or client CIDR (use host_globs [\"*\"] "
              "to match everything)");
}

TEST(RuleSetValidate, RegexErrorCarriesTheLibraryExplanation) {
    Rule rule = valid_rule();
    rule.match.host_regexes = {"(abc"};
    const auto error = RuleSet::validate(rule);
    ASSERT_TRUE(error.has_value());
    const auto explanation = error->message.find("does not compile: ");
    ASSERT_NE(explanation, std::string::npos);
    EXPECT_GT(error->message.size(), explanation + std::string("does not compile: ").size() + 5) << error->message;
}

TEST(RuleSetValidate, AcceptsValuesAtTheLimits) {
    const std::vector<std::pair<const char*, std::function<void(Rule&)>>> cases = {
        {"64-char id", [](Rule& r) { r.id = std::string(64, 'a'); }},
        {"id charset", [](Rule& r) { r.id = "Az09._-"; }},
        {"253-char host", [](Rule& r) { r.match.hosts = {std::string(253, 'a')}; }},
        {"dotted suffix", [](Rule& r) { r.match.host_suffixes = {".example.com"}; }},
        {"1024-char regex", [](Rule& r) { r.match.host_regexes = {std::string(1024, 'a')}; }},
        {"ports at the edges", [](Rule& r) { r.match.ports = {{1, 1}, {65535, 65535}, {1, 65535}}; }},
        {"cidr host bits set", [](Rule& r) { r.match.client_cidrs = {"10.1.2.3/8"}; }},
        {"cidr /0 both families", [](Rule& r) { r.match.client_cidrs = {"0.0.0.0/0", "::/0"}; }},
        {"bare addresses", [](Rule& r) { r.match.client_cidrs = {"192.0.2.1", "::1"}; }},
        {"reject status edges",
         [](Rule& r) {
             r.action = ConnectAction::reject;
             r.reject_status = 400;
         }},
        {"reject status 599",
         [](Rule& r) {
             r.action = ConnectAction::reject;
             r.reject_status = 599;
         }},
        {"status unchecked unless rejecting", [](Rule& r) { r.reject_status = 0; }},
        {"1024-byte message", [](Rule& r) { r.reject_message = std::string(1024, 'x'); }},
        {"only a port", [](Rule& r) { r.match = Match().ports({{443, 443}}); }},
        {"only a client", [](Rule& r) { r.match = Match().client_cidrs({"10.0.0.0/8"}); }},
    };
    for (const auto& [name, adjust] : cases) {
        SCOPED_TRACE(name);
        Rule rule = valid_rule();
        adjust(rule);
        const auto error = RuleSet::validate(rule);
        EXPECT_FALSE(error.has_value()) << error->field << ": " << error->message;
    }
}

TEST(RuleSetValidate, FirstErrorInFieldOrderWins) {
    Rule rule = valid_rule();
    rule.id = "";
    rule.match.ports = {{0, 0}};
    EXPECT_EQ(RuleSet::validate(rule)->field, "id");

    rule.id = "ok";
    rule.match.client_cidrs = {"nope"};
    EXPECT_EQ(RuleSet::validate(rule)->field, "match.ports[0]");

    rule.match.ports = {{80, 80}, {5, 1}};
    EXPECT_EQ(RuleSet::validate(rule)->field, "match.ports[1]");
}

TEST(RuleSetCompile, DuplicateIdsAreNamed) {
    const auto error = compile_error({valid_rule("a"), valid_rule("dup"), valid_rule("b"), valid_rule("dup")});
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->index, 3u);
    EXPECT_EQ(error->field, "id");
    EXPECT_NE(error->message.find("\"dup\""), std::string::npos) << error->message;
    EXPECT_NE(error->message.find("#1"), std::string::npos) << error->message;
}

TEST(RuleSetCompile, TheFirstBadRuleRefusesTheLot) {
    Rule bad = valid_rule("bad");
    bad.match.host_regexes = {"("};
    Rule worse = valid_rule("worse");
    worse.id = "";
    const auto error = compile_error({valid_rule("a"), bad, worse});
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->index, 1u);
    EXPECT_EQ(error->field, "match.host_regexes[0]");
}

TEST(RuleSetCompile, KeepsRulesDefaultAndGeneration) {
    const auto set = must_compile({valid_rule("a"), valid_rule("b")}, ConnectAction::reject, 42);
    ASSERT_EQ(set->rules().size(), 2u);
    EXPECT_EQ(set->rules()[0].id, "a");
    EXPECT_EQ(set->rules()[1].id, "b");
    EXPECT_EQ(set->default_action(), ConnectAction::reject);
    EXPECT_EQ(set->generation(), 42u);
    EXPECT_EQ(must_compile({})->generation(), 0u);
}

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
    const RuleMatch match =
        Match().hosts({"a.org"}).host_suffixes({"b.org"}).host_globs({"c*.net"}).host_regexes({"d[0-9]\\.io"});
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
    return rule_matching("corp-mitm",
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
    const auto decision = must_compile({off, corp_mitm()})->decide(to("a.example.com", 443), from("10.1.2.3"));
    ASSERT_EQ(decision.rule_index, std::optional<std::size_t>(1));
    EXPECT_EQ(decision.rule_id, "corp-mitm");
    EXPECT_EQ(decision.action, ConnectAction::mitm);
    EXPECT_EQ(decision.reason,
              "rule \"corp-mitm\" (#1): host suffix \"example.com\" matched, port 443 in 443, client 10.1.2.3 in "
              "10.0.0.0/8");
}

TEST(RuleSetDecide, ReasonMentionsOnlyTheRulesCriteria) {
    const auto ports = must_compile({rule_matching("p", Match().ports({{80, 89}}))});
    EXPECT_EQ(ports->decide(to("h", 80), any_client).reason, "rule \"p\" (#0): port 80 in 80-89");

    const auto globs = must_compile({rule_matching("g", Match().hosts({"x.org"}).host_globs({"*.Org"}))});
    EXPECT_EQ(globs->decide(to("y.org"), any_client).reason, "rule \"g\" (#0): host glob \"*.Org\" matched");
    EXPECT_EQ(globs->decide(to("X.org"), any_client).reason, "rule \"g\" (#0): host \"x.org\" matched");

    const auto regex = must_compile({rule_matching("r", Match().host_regexes({"a+"}))});
    EXPECT_EQ(regex->decide(to("aaa"), any_client).reason, "rule \"r\" (#0): host regex \"a+\" matched");

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
    EXPECT_EQ(narrow_first->decide(to("b.org"), any_client).rule_index, std::optional<std::size_t>(1));

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
    const auto set = must_compile({rule_matching("a", Match().hosts({"a.org"}), ConnectAction::mitm)},
                                  ConnectAction::reject);
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
    Rule host = rule_matching(
        "host", Match().hosts({"b.org"}).host_suffixes({"c.org"}).host_globs({"*.d.org"}).host_regexes({"e+\\.org"}));
    Rule host_only = rule_matching("host-only", Match().host_suffixes({"z.org", ".y.org"}));
    Rule port = rule_matching("port", Match().host_globs({"*"}).ports({{443, 443}, {8443, 8450}}));
    Rule client = rule_matching("client", Match().host_globs({"*"}).client_cidrs({"10.0.0.0/8", "::1"}));
    const auto set = must_compile({host, host_only, port, client});
    const auto explanation = set->explain(to("a.org", 80), from("192.0.2.1"));
    ASSERT_EQ(explanation.trace.size(), 4u);
    EXPECT_EQ(explanation.trace[0].reason,
              "host a.org matches none of: hosts [\"b.org\"], suffixes [\"c.org\"], globs [\"*.d.org\"], regexes "
              "[\"e+\\.org\"]");
    EXPECT_EQ(explanation.trace[1].reason, "host a.org matches none of: suffixes [\"z.org\", \".y.org\"]");
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
    Rule plain = rule_matching("plain", Match().ports({{80, 80}, {8080, 8089}}), ConnectAction::http);
    Rule v6 = rule_matching("v6", Match().host_regexes({"api\\d*\\..+"}).client_cidrs({"2001:db8::/32"}));
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

        const std::size_t evaluated = decision.rule_index ? *decision.rule_index + 1 : set->rules().size();
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
