// The rule set as the data plane applies it, rules published straight into the running proxy
// (the gRPC side has its own tests): plain requests rejected, per-rule CONNECT actions, the
// 100-continue policies, and a published change taking effect on the next request.

#include <gtest/gtest.h>

#include <algorithm>

#include "proxy/rules/rule_set.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class RulesTest : public ProxyFixture {
  protected:
    void publish(std::vector<proxy::Rule> rules) {
        auto compiled = proxy::RuleSet::compile(std::move(rules), proxy::ConnectAction::tunnel, ++generation_);
        ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const proxy::RuleSet>>(compiled));
        proxy().rules().publish(std::get<std::shared_ptr<const proxy::RuleSet>>(compiled));
    }
    proxy::Rule origin_rule(std::string id, proxy::ConnectAction action) const {
        proxy::Rule rule;
        rule.id = std::move(id);
        rule.match.hosts = {"127.0.0.1"};
        rule.match.ports = {{origin.port(), origin.port()}};
        rule.action = action;
        return rule;
    }
    bool origin_logged(const std::string& event) const {
        const auto events = origin.events();
        return std::find(events.begin(), events.end(), event) != events.end();
    }

    std::uint64_t generation_ = 0;
};

TEST_F(RulesTest, ARejectRuleAnswersPlainRequestsWith403AndItsMessage) {
    auto rule = origin_rule("no-origin", proxy::ConnectAction::reject);
    rule.reject_message = "this origin is off limits";
    publish({rule});
    CurlTransfer get;
    get.url(origin.url("/bytes/100"));
    route(get, ClientRoute::absolute_form);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 403);
    EXPECT_NE(get.body_text().find("this origin is off limits"), std::string::npos) << get.body_text();
    EXPECT_EQ(origin.requests(), 0u);
}

TEST_F(RulesTest, ARejectRuleWithAnotherStatusAnswersWithIt) {
    auto rule = origin_rule("unavailable", proxy::ConnectAction::reject);
    rule.reject_status = 451;
    publish({rule});
    RawResponse reply;
    auto client = open_connect(origin.authority(), reply);
    EXPECT_EQ(reply.status, 451);
}

TEST_F(RulesTest, RulesForOtherPortsLeavePlainRequestsAlone) {
    auto rule = origin_rule("other-port", proxy::ConnectAction::reject);
    rule.match.ports = {{1, 2}};
    publish({rule});
    CurlTransfer get;
    get.url(origin.url("/bytes/100"));
    route(get, ClientRoute::absolute_form);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
}

TEST_F(RulesTest, TheDefaultActionNeverRefusesAPlainRequest) {
    // The default is what a CONNECT gets; with or without unrelated rules, plain requests pass.
    auto compiled = proxy::RuleSet::compile({}, proxy::ConnectAction::reject, 1);
    proxy().rules().publish(std::get<std::shared_ptr<const proxy::RuleSet>>(compiled));
    CurlTransfer get;
    get.url(origin.url("/bytes/10"));
    route(get, ClientRoute::absolute_form);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    auto unrelated = origin_rule("elsewhere", proxy::ConnectAction::tunnel);
    unrelated.match.hosts = {"elsewhere.example"};
    compiled = proxy::RuleSet::compile({unrelated}, proxy::ConnectAction::reject, 2);
    proxy().rules().publish(std::get<std::shared_ptr<const proxy::RuleSet>>(compiled));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    RawResponse reply;
    auto client = open_connect(origin.authority(), reply);
    EXPECT_EQ(reply.status, 403) << "a CONNECT still gets the default action";
}

TEST_F(RulesTest, APublishedChangeAppliesToTheNextRequestOnTheSameConnection) {
    CurlTransfer get;  // one curl handle: the second request reuses its connection
    get.url(origin.url("/bytes/10"));
    route(get, ClientRoute::absolute_form);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    publish({origin_rule("now-rejected", proxy::ConnectAction::reject)});
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 403);
    EXPECT_EQ(get.connects_made(), 0) << "the rule change must not have cut the connection";
}

TEST_F(RulesTest, EachConnectGetsTheActionOfTheRuleThatMatchesIt) {
    publish({origin_rule("read-it", proxy::ConnectAction::http)});
    CurlTransfer get;
    get.url(origin.url("/bytes/10"));
    route(get, ClientRoute::http_connect);
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.response_code(), 200);
    const auto seen = wait_for_connection([](const proxy::ConnectionSnapshot& c) { return c.exchanges > 0; });
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->mode, proxy::ConnectionMode::http) << describe(*seen);
}

TEST_F(RulesTest, AnsweringHundredContinueLocallyStripsTheExpectation) {
    auto rule = origin_rule("answer-100", proxy::ConnectAction::tunnel);
    rule.options.expect = proxy::ExpectPolicy::answer_locally;
    publish({rule});
    constexpr std::uint64_t size = 256 * 1024;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, ClientRoute::absolute_form);
    post.upload(size, UploadFraming::content_length);
    post.expect_continue(true);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));
    EXPECT_EQ(post.statuses(), (std::vector<int>{100, 200}));
    EXPECT_FALSE(origin_logged("100-sent /upload")) << "the origin was still asked to send 100";
}

TEST_F(RulesTest, RejectingTheExpectationAnswers417WithoutContactingTheOrigin) {
    auto rule = origin_rule("no-expect", proxy::ConnectAction::tunnel);
    rule.options.expect = proxy::ExpectPolicy::reject;
    publish({rule});
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, ClientRoute::absolute_form);
    post.upload(64 * 1024, UploadFraming::content_length);
    post.expect_continue(true);
    post.perform();  // curl may report the upload cut short: the status is what counts
    EXPECT_EQ(post.response_code(), 417);
    EXPECT_EQ(origin.requests(), 0u);
}

TEST_F(RulesTest, ForwardingTheExpectationIsTheDefault) {
    publish({origin_rule("plain", proxy::ConnectAction::tunnel)});
    CurlTransfer post;
    post.url(origin.url("/upload"));
    route(post, ClientRoute::absolute_form);
    post.upload(64 * 1024, UploadFraming::content_length);
    post.expect_continue(true);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
    EXPECT_EQ(post.response_code(), 200);
    EXPECT_TRUE(origin_logged("100-sent /upload"));
}

TEST_F(RulesTest, ClosingAConnectionThroughTheRegistryEndsIt) {
    RawResponse reply;
    auto client = open_connect(origin.authority(), reply);
    ASSERT_EQ(reply.status, 200);
    const auto tunnel = wait_for_connection(
        [](const proxy::ConnectionSnapshot& c) { return c.mode == proxy::ConnectionMode::tunnel; });
    ASSERT_TRUE(tunnel);
    EXPECT_TRUE(proxy().connections().close(tunnel->id));
    EXPECT_TRUE(wait_for_no_connections());
    EXPECT_FALSE(proxy().connections().close(tunnel->id));
}

}  // namespace
}  // namespace mproxy::test
