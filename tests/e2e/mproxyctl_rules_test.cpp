// mproxyctl rules ...: every subcommand against a real mproxyd, in each output format, and a rule
// added from the command line changing what curl gets through the proxy.

#include <gtest/gtest.h>

#include <fstream>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

class MproxyctlRules : public ::testing::Test {
  protected:
    CtlResult ctl(std::vector<std::string> args) {
        return run_mproxyctl(with_connection(std::move(args), server));
    }

    TemporaryDirectory state{"mproxyctl-rules"};
    Mproxyd server{state.path()};
};

TEST_F(MproxyctlRules, ARejectRuleAddedWithFlagsMakesCurlGet403AndDeletingItLetsTrafficThrough) {
    TestOrigin origin;
    const auto url = origin.url("/say/hello");
    EXPECT_EQ(curl_status(server.proxy(), url), "200");

    const auto added = ctl({"rules", "add", "--id", "block-origin", "--host", "127.0.0.1", "--port",
                            std::to_string(origin.port()), "--action", "reject", "-o", "json"});
    ASSERT_EQ(added.status, 0) << added.err;
    const auto rules = json_lines(added.out);
    ASSERT_EQ(rules.size(), 1u) << added.out;
    EXPECT_EQ(field(rules[0], "id"), "block-origin");
    EXPECT_EQ(field(rules[0], "action"), "ACTION_REJECT");
    EXPECT_EQ(curl_status(server.proxy(), url), "403");

    const auto deleted = ctl({"rules", "delete", "block-origin"});
    ASSERT_EQ(deleted.status, 0) << deleted.err;
    EXPECT_NE(deleted.out.find("deleted rule block-origin"), std::string::npos) << deleted.out;
    EXPECT_EQ(curl_status(server.proxy(), url), "200");
}

TEST_F(MproxyctlRules, ListAndGetInTableJsonAndYaml) {
    ASSERT_EQ(ctl({"rules", "add", "--id", "corp", "--host-suffix", "corp.example", "--port", "443",
                   "--port", "8000-8100", "--action", "mitm", "--insecure-upstream",
                   "--description", "corporate"})
                  .status,
              0);
    ASSERT_EQ(ctl({"rules", "add", "--id", "ads", "--host-glob", "*.ads.example", "--action",
                   "reject", "--reject-status", "451", "--position", "0"})
                  .status,
              0);

    const auto table = ctl({"rules", "list"});
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_TRUE(table.err.empty()) << table.err;
    std::istringstream lines(table.out);
    std::string header, first, second;
    std::getline(lines, header);
    std::getline(lines, first);
    std::getline(lines, second);
    EXPECT_EQ(header.find("#"), 0u) << table.out;
    EXPECT_EQ(header.find("ID"), first.find("ads")) << "columns are aligned:\n" << table.out;
    EXPECT_EQ(first.find("ads"), second.find("corp")) << table.out;
    EXPECT_NE(first.find("reject 451"), std::string::npos) << table.out;
    EXPECT_NE(second.find("suffix=corp.example port=443,8000-8100"), std::string::npos)
        << table.out;
    EXPECT_NE(second.find("mitm (insecure upstream)"), std::string::npos) << table.out;

    const auto json = ctl({"rules", "list", "-o", "json"});
    ASSERT_EQ(json.status, 0) << json.err;
    const auto rules = json_lines(json.out);
    ASSERT_EQ(rules.size(), 2u) << json.out;
    EXPECT_EQ(field(rules[0], "id"), "ads") << "in evaluation order";
    EXPECT_EQ(field(rules[0], "rejectStatus"), "451");
    EXPECT_EQ(field(rules[1], "id"), "corp");
    EXPECT_EQ(field(rules[1], "options.upstreamInsecure"), "true");
    EXPECT_EQ(field(rules[1], "order"), "1");

    const auto yaml = ctl({"rules", "get", "corp", "-o", "yaml"});
    ASSERT_EQ(yaml.status, 0) << yaml.err;
    EXPECT_EQ(yaml.out.find("---\n"), 0u) << yaml.out;
    EXPECT_NE(yaml.out.find("id: corp"), std::string::npos) << yaml.out;
    EXPECT_NE(yaml.out.find("action: ACTION_MITM"), std::string::npos) << yaml.out;
    EXPECT_NE(yaml.out.find("- corp.example"), std::string::npos) << yaml.out;
}

TEST_F(MproxyctlRules, UpdateChangesOnlyTheFlagsGivenAndBumpsTheVersion) {
    ASSERT_EQ(
        ctl({"rules", "add", "--id", "corp", "--host-suffix", "corp.example", "--action", "mitm"})
            .status,
        0);
    const auto updated =
        ctl({"rules", "update", "corp", "--action", "tunnel", "--disabled", "-o", "json"});
    ASSERT_EQ(updated.status, 0) << updated.err;
    const auto rules = json_lines(updated.out);
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(field(rules[0], "action"), "ACTION_TUNNEL");
    EXPECT_EQ(field(rules[0], "enabled"), "false");
    EXPECT_EQ(field(rules[0], "version"), "2");
    const auto got = json_lines(ctl({"rules", "get", "corp", "-o", "json"}).out);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(field(got[0], "match.hostSuffixes"), "corp.example") << "what no flag named is kept";
    EXPECT_NE(ctl({"rules", "get", "corp"}).out.find("suffix=corp.example"), std::string::npos);
}

TEST_F(MproxyctlRules, AddAndReplaceFromYamlAndJsonFiles) {
    const auto yaml_file = state.path() / "rules.yaml";
    std::ofstream(yaml_file)
        << "rules:\n"
           "  - id: one\n"
           "    match: {host_suffixes: [one.example]}\n"
           "    action: ACTION_TUNNEL\n"
           "  - id: two\n"
           "    match:\n      hosts: [two.example]\n      ports: [{first: 8443}]\n"
           "    action: ACTION_REJECT\n"
           "    reject_status: 404\n";
    const auto added = ctl({"rules", "add", "-f", yaml_file.string(), "-o", "json"});
    ASSERT_EQ(added.status, 0) << added.err;
    ASSERT_EQ(json_lines(added.out).size(), 2u) << added.out;

    // What `rules list -o json` prints is a file `rules replace` takes back.
    const auto listed = ctl({"rules", "list", "-o", "json"});
    const auto json_file = state.path() / "rules.jsonl";
    std::ofstream(json_file) << listed.out;
    const auto replaced = ctl({"rules", "replace", "-f", json_file.string(), "-o", "json"});
    ASSERT_EQ(replaced.status, 0) << replaced.err;
    const auto rules = json_lines(replaced.out);
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_EQ(field(rules[1], "id"), "two");
    EXPECT_EQ(field(rules[1], "rejectStatus"), "404");

    const auto single = state.path() / "single.json";
    std::ofstream(single)
        << R"({"id": "only", "match": {"hostGlobs": ["*"]}, "action": "ACTION_HTTP"})";
    ASSERT_EQ(ctl({"rules", "replace", "-f", single.string()}).status, 0);
    const auto after = json_lines(ctl({"rules", "list", "-o", "json"}).out);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(field(after[0], "id"), "only");
}

TEST_F(MproxyctlRules, ExplainSaysWhichRuleDecidesAndWhy) {
    ASSERT_EQ(ctl({"rules", "add", "--id", "web", "--host-suffix", "example.com", "--port", "80",
                   "--action", "http"})
                  .status,
              0);
    ASSERT_EQ(
        ctl({"rules", "add", "--id", "corp", "--host-suffix", "example.com", "--action", "mitm"})
            .status,
        0);
    const auto json =
        ctl({"rules", "explain", "www.example.com:443", "--client", "10.1.2.3", "-o", "json"});
    ASSERT_EQ(json.status, 0) << json.err;
    const auto answers = json_lines(json.out);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(field(answers[0], "ruleId"), "corp");
    EXPECT_EQ(field(answers[0], "action"), "ACTION_MITM");

    const auto table = ctl({"rules", "explain", "www.example.com"});
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("corp"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("EVALUATED"), std::string::npos)
        << "the trace, as a table: " << table.out;
    EXPECT_NE(table.out.find("port 443"), std::string::npos)
        << "why `web` did not match: " << table.out;

    const auto fallback = json_lines(ctl({"rules", "explain", "other.test:80", "-o", "json"}).out);
    ASSERT_EQ(fallback.size(), 1u);
    EXPECT_EQ(field(fallback[0], "ruleId"), "") << "the default action";
}

TEST_F(MproxyctlRules, RefusalsExitWithTheirOwnCodeAndNameTheField) {
    const auto bad_regex =
        ctl({"rules", "add", "--id", "bad", "--host-regex", "(", "--action", "tunnel"});
    EXPECT_EQ(bad_regex.status, 5) << bad_regex.err;
    EXPECT_NE(bad_regex.err.find("host_regexes[0]"), std::string::npos) << bad_regex.err;
    EXPECT_EQ(std::count(bad_regex.err.begin(), bad_regex.err.end(), '\n'), 1)
        << "one line: " << bad_regex.err;
    EXPECT_TRUE(bad_regex.out.empty()) << bad_regex.out;

    const auto no_action = ctl({"rules", "add", "--host", "x.example"});
    EXPECT_EQ(no_action.status, 5);
    EXPECT_NE(no_action.err.find("action"), std::string::npos) << no_action.err;

    const auto bad_file = state.path() / "bad.yaml";
    std::ofstream(bad_file) << "id: x\nmatch: {hosts: [a]}\naction: ACTION_TUNNEL\ncolour: blue\n";
    const auto unknown_field = ctl({"rules", "add", "-f", bad_file.string()});
    EXPECT_EQ(unknown_field.status, 5);
    EXPECT_NE(unknown_field.err.find("colour"), std::string::npos) << unknown_field.err;

    const auto missing = ctl({"rules", "get", "no-such-rule"});
    EXPECT_EQ(missing.status, 6) << missing.err;
    EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
    EXPECT_EQ(ctl({"rules", "delete", "no-such-rule"}).status, 6);

    ASSERT_EQ(
        ctl({"rules", "add", "--id", "taken", "--host", "a.example", "--action", "tunnel"}).status,
        0);
    EXPECT_EQ(
        ctl({"rules", "add", "--id", "taken", "--host", "b.example", "--action", "tunnel"}).status,
        7);
    EXPECT_EQ(ctl({"rules", "delete", "taken", "--version", "99"}).status, 7) << "a stale version";

    const auto usage = ctl({"rules", "add", "--action", "explode"});
    EXPECT_EQ(usage.status, 2);
    EXPECT_NE(usage.err.find("--action"), std::string::npos) << usage.err;
    EXPECT_EQ(ctl({"rules", "add", "--port", "http", "--action", "tunnel"}).status, 2);
}

}  // namespace
}  // namespace mproxy::test
