// RuleSet::compile: every bad field refused and named, limits accepted, the first error reported.

#include "proxy/rules/rule_set.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>

#include "tests/proxy/rules/rule_set_builders.hpp"

namespace mproxy::proxy {
namespace {

using namespace rule_test;
namespace ip = boost::asio::ip;

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
         "empty match: give at least one host, suffix, glob, regex, port or client CIDR (use "
         "host_globs [\"*\"] "
         "to match everything)"},
        {"empty host", [](Rule& r) { r.match.hosts = {""}; }, "match.hosts[0]", "empty"},
        {"host with space",
         [](Rule& r) {
             r.match.hosts = {"ok.org", "a b"};
         },
         "match.hosts[1]", "whitespace"},
        {"host with control", [](Rule& r) { r.match.hosts = {"a\x01.org"}; }, "match.hosts[0]",
         "control"},
        {"host with DEL", [](Rule& r) { r.match.hosts = {"a\x7f.org"}; }, "match.hosts[0]",
         "control"},
        {"long host", [](Rule& r) { r.match.hosts = {std::string(254, 'a')}; }, "match.hosts[0]",
         "253"},
        {"host only a dot", [](Rule& r) { r.match.hosts = {"."}; }, "match.hosts[0]", "dots"},
        {"suffix only a dot",
         [](Rule& r) {
             r.match.host_suffixes = {"a.org", ".b.org", "."};
         },
         "match.host_suffixes[2]", "dots"},
        {"empty suffix", [](Rule& r) { r.match.host_suffixes = {""}; }, "match.host_suffixes[0]",
         "empty"},
        {"suffix with tab", [](Rule& r) { r.match.host_suffixes = {"a\t.org"}; },
         "match.host_suffixes[0]", "whitespace"},
        {"empty glob", [](Rule& r) { r.match.host_globs = {""}; }, "match.host_globs[0]", "empty"},
        {"glob with newline",
         [](Rule& r) {
             r.match.host_globs = {"*", "*.org\n"};
         },
         "match.host_globs[1]", "whitespace"},
        {"long glob", [](Rule& r) { r.match.host_globs = {std::string(254, '*')}; },
         "match.host_globs[0]", "253"},
        {"regex unbalanced",
         [](Rule& r) {
             r.match.host_regexes = {"ok", "(abc"};
         },
         "match.host_regexes[1]", "does not compile: "},
        {"regex bad class", [](Rule& r) { r.match.host_regexes = {"[z-a]"}; },
         "match.host_regexes[0]", "does not compile: "},
        {"long regex", [](Rule& r) { r.match.host_regexes = {std::string(1025, 'a')}; },
         "match.host_regexes[0]", "1024"},
        {"port zero",
         [](Rule& r) {
             r.match.ports = {{0, 0}};
         },
         "match.ports[0]", "1..65535"},
        {"range from zero",
         [](Rule& r) {
             r.match.ports = {{443, 443}, {0, 80}};
         },
         "match.ports[1]", "1..65535"},
        {"range backwards",
         [](Rule& r) {
             r.match.ports = {{90, 80}};
         },
         "match.ports[0]", "90-80"},
        {"cidr prefix too long", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/33"}; },
         "match.client_cidrs[0]", "0..32"},
        {"cidr empty prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/"}; },
         "match.client_cidrs[0]", "prefix"},
        {"cidr word prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/x"}; },
         "match.client_cidrs[0]", "prefix"},
        {"cidr negative prefix", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/-1"}; },
         "match.client_cidrs[0]", "prefix"},
        {"cidr prefix with space", [](Rule& r) { r.match.client_cidrs = {"10.0.0.0/8 "}; },
         "match.client_cidrs[0]", "prefix"},
        {"cidr bad address",
         [](Rule& r) {
             r.match.client_cidrs = {"::1", "10.0.0.256/8"};
         },
         "match.client_cidrs[1]", "not an IPv4 or IPv6 address"},
        {"cidr name", [](Rule& r) { r.match.client_cidrs = {"localhost"}; },
         "match.client_cidrs[0]", "not an IPv4 or IPv6 address"},
        {"cidr empty", [](Rule& r) { r.match.client_cidrs = {""}; }, "match.client_cidrs[0]",
         "not an IPv4"},
        {"v6 prefix too long", [](Rule& r) { r.match.client_cidrs = {"2001:db8::/129"}; },
         "match.client_cidrs[0]", "0..128"},
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
        {"long reject message", [](Rule& r) { r.reject_message = std::string(1025, 'x'); },
         "reject_message", "1024"},
        {"reject message with LF", [](Rule& r) { r.reject_message = "one\ntwo"; }, "reject_message",
         "one line"},
        {"reject message with CR", [](Rule& r) { r.reject_message = "one\rtwo"; }, "reject_message",
         "one line"},
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
              "empty match: give at least one host, suffix, glob, regex, port or client CIDR (use "
              "host_globs [\"*\"] "
              "to match everything)");
}

TEST(RuleSetValidate, RegexErrorCarriesTheLibraryExplanation) {
    Rule rule = valid_rule();
    rule.match.host_regexes = {"(abc"};
    const auto error = RuleSet::validate(rule);
    ASSERT_TRUE(error.has_value());
    const auto explanation = error->message.find("does not compile: ");
    ASSERT_NE(explanation, std::string::npos);
    EXPECT_GT(error->message.size(), explanation + std::string("does not compile: ").size() + 5)
        << error->message;
}

TEST(RuleSetValidate, AcceptsValuesAtTheLimits) {
    const std::vector<std::pair<const char*, std::function<void(Rule&)>>> cases = {
        {"64-char id", [](Rule& r) { r.id = std::string(64, 'a'); }},
        {"id charset", [](Rule& r) { r.id = "Az09._-"; }},
        {"253-char host", [](Rule& r) { r.match.hosts = {std::string(253, 'a')}; }},
        {"dotted suffix", [](Rule& r) { r.match.host_suffixes = {".example.com"}; }},
        {"1024-char regex", [](Rule& r) { r.match.host_regexes = {std::string(1024, 'a')}; }},
        {"ports at the edges",
         [](Rule& r) {
             r.match.ports = {{1, 1}, {65535, 65535}, {1, 65535}};
         }},
        {"cidr host bits set", [](Rule& r) { r.match.client_cidrs = {"10.1.2.3/8"}; }},
        {"cidr /0 both families",
         [](Rule& r) {
             r.match.client_cidrs = {"0.0.0.0/0", "::/0"};
         }},
        {"bare addresses",
         [](Rule& r) {
             r.match.client_cidrs = {"192.0.2.1", "::1"};
         }},
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
        {"only a port",
         [](Rule& r) {
             r.match = Match().ports({{443, 443}});
         }},
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
    const auto error =
        compile_error({valid_rule("a"), valid_rule("dup"), valid_rule("b"), valid_rule("dup")});
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

}  // namespace
}  // namespace mproxy::proxy
