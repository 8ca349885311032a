// RulesService over a real gRPC channel: CRUD with versions and positions, every validation error
// naming its field, ReplaceRules all or nothing, and a change that cannot be saved refused.

#include <gtest/gtest.h>

#include "tests/control/rules_fixture.hpp"

namespace mproxy::test {
namespace {

TEST_F(RulesServiceTest, CreateListGetUpdateDeleteWithOrderAndVersions) {
    auto initial = list_rules();
    EXPECT_EQ(initial.rules_size(), 0);
    EXPECT_EQ(initial.info().generation(), 0u);
    EXPECT_EQ(initial.info().default_action(), v1::ACTION_TUNNEL);

    v1::Rule a;
    ASSERT_TRUE(create(host_rule("a", "a.example", v1::ACTION_TUNNEL), &a).ok());
    EXPECT_EQ(a.id(), "a");
    EXPECT_EQ(a.version(), 1u);
    EXPECT_EQ(a.order(), 0u);
    EXPECT_TRUE(a.enabled()) << "CreateRule makes rules enabled unless `disabled` is set";

    v1::Rule unnamed;
    ASSERT_TRUE(create(host_rule("", "b.example", v1::ACTION_HTTP), &unnamed).ok());
    EXPECT_EQ(unnamed.id().rfind("rule-", 0), 0u) << unnamed.id();
    EXPECT_EQ(unnamed.order(), 1u);

    v1::Rule first;
    ASSERT_TRUE(create(host_rule("first", "c.example", v1::ACTION_MITM), &first, 0u).ok());
    EXPECT_EQ(first.order(), 0u);

    v1::Rule off;
    ASSERT_TRUE(
        create(host_rule("off", "d.example", v1::ACTION_TUNNEL), &off, {}, /*disabled=*/true).ok());
    EXPECT_FALSE(off.enabled());

    auto listed = list_rules();
    EXPECT_EQ(ids(listed), (std::vector<std::string>{"first", "a", unnamed.id(), "off"}));
    for (int i = 0; i < listed.rules_size(); ++i)
        EXPECT_EQ(listed.rules(i).order(), static_cast<std::uint32_t>(i));
    EXPECT_EQ(listed.info().generation(), 4u);

    v1::Rule got;
    ASSERT_TRUE(rules
                    ->GetRule(
                        call().get(),
                        [] {
                            v1::GetRuleRequest r;
                            r.set_id("a");
                            return r;
                        }(),
                        &got)
                    .ok());
    EXPECT_EQ(got.order(), 1u);
    EXPECT_EQ(got.version(), 1u);
    EXPECT_EQ(got.match().hosts(0), "a.example");

    // Every field is replaced, and the rule moves to the end.
    auto changed = got;
    changed.set_action(v1::ACTION_HTTP);
    changed.set_description("now cleartext");
    changed.set_enabled(false);
    v1::Rule updated;
    ASSERT_TRUE(update(changed, &updated, 3u).ok());
    EXPECT_EQ(updated.version(), 2u);
    EXPECT_EQ(updated.order(), 3u);
    EXPECT_EQ(updated.action(), v1::ACTION_HTTP);
    EXPECT_EQ(updated.description(), "now cleartext");
    EXPECT_FALSE(updated.enabled());
    EXPECT_EQ(ids(list_rules()), (std::vector<std::string>{"first", unnamed.id(), "off", "a"}));

    // A writer holding version 1 lost the race.
    EXPECT_TRUE(has_status(update(changed), grpc::StatusCode::ABORTED,
                           "rule a changed since version 1 was read (now 2)"));
    EXPECT_TRUE(has_status(update(host_rule("ghost", "x.example", v1::ACTION_TUNNEL)),
                           grpc::StatusCode::NOT_FOUND));
    EXPECT_TRUE(has_status(rules->GetRule(
                               call().get(),
                               [] {
                                   v1::GetRuleRequest r;
                                   r.set_id("ghost");
                                   return r;
                               }(),
                               &got),
                           grpc::StatusCode::NOT_FOUND));
    EXPECT_TRUE(has_status(create(host_rule("a", "other.example", v1::ACTION_TUNNEL)),
                           grpc::StatusCode::ALREADY_EXISTS));
    EXPECT_TRUE(has_status(create(host_rule("late", "e.example", v1::ACTION_TUNNEL), nullptr, 5u),
                           grpc::StatusCode::INVALID_ARGUMENT, "position"));
    EXPECT_TRUE(
        has_status(update(updated, nullptr, 4u), grpc::StatusCode::INVALID_ARGUMENT, "position"));

    v1::DeleteRuleRequest remove;
    remove.set_id("a");
    remove.set_version(1);
    v1::DeleteRuleResponse removed;
    EXPECT_TRUE(
        has_status(rules->DeleteRule(call().get(), remove, &removed), grpc::StatusCode::ABORTED));
    remove.set_version(2);
    EXPECT_TRUE(rules->DeleteRule(call().get(), remove, &removed).ok());
    EXPECT_TRUE(
        has_status(rules->DeleteRule(call().get(), remove, &removed), grpc::StatusCode::NOT_FOUND));
    remove.set_id("off");
    remove.set_version(0);  // no version: delete whatever it is now
    EXPECT_TRUE(rules->DeleteRule(call().get(), remove, &removed).ok());

    const auto final_list = list_rules();
    EXPECT_EQ(ids(final_list), (std::vector<std::string>{"first", unnamed.id()}));
    EXPECT_EQ(final_list.info().generation(), 7u)
        << "four creates, one update, two deletes; refusals count nothing";
    EXPECT_EQ(control().rules().generation(), 7u);
    EXPECT_EQ(proxy().rules().snapshot()->generation(), 7u) << "the data plane has the same set";
}

TEST_F(RulesServiceTest, EveryValidationErrorNamesTheField) {
    struct Case {
        std::string name;
        std::function<void(v1::Rule&)> spoil;
        std::string message_start;
    };
    const std::vector<Case> cases = {
        {"empty match", [](v1::Rule& r) { r.clear_match(); }, "rule.match: "},
        {"bad regex",
         [](v1::Rule& r) {
             r.mutable_match()->add_host_regexes("ok\\.example");
             r.mutable_match()->add_host_regexes("(unclosed");
         },
         "rule.match.host_regexes[1]: "},
        {"bad CIDR prefix", [](v1::Rule& r) { r.mutable_match()->add_client_cidrs("10.0.0.0/33"); },
         "rule.match.client_cidrs[0]: "},
        {"CIDR not an address",
         [](v1::Rule& r) { r.mutable_match()->add_client_cidrs("not-an-ip/8"); },
         "rule.match.client_cidrs[0]: "},
        {"unspecified action", [](v1::Rule& r) { r.set_action(v1::ACTION_UNSPECIFIED); },
         "rule.action: "},
        {"unknown action", [](v1::Rule& r) { r.set_action(static_cast<v1::Action>(42)); },
         "rule.action: "},
        {"port 0", [](v1::Rule& r) { add_ports(r, 0); }, "rule.match.ports[0]: "},
        {"port 70000",
         [](v1::Rule& r) {
             add_ports(r, 443);
             add_ports(r, 70000);
         },
         "rule.match.ports[1]: "},
        {"range end 70000", [](v1::Rule& r) { add_ports(r, 1000, 70000); },
         "rule.match.ports[0]: "},
        {"range backwards", [](v1::Rule& r) { add_ports(r, 2000, 1000); }, "rule.match.ports[0]: "},
        {"reject_status 200",
         [](v1::Rule& r) {
             r.set_action(v1::ACTION_REJECT);
             r.set_reject_status(200);
         },
         "rule.reject_status: "},
        {"two-line reject message",
         [](v1::Rule& r) {
             r.set_action(v1::ACTION_REJECT);
             r.set_reject_message("a\r\nb");
         },
         "rule.reject_message: "},
        {"bad id", [](v1::Rule& r) { r.set_id("has space"); }, "rule.id: "},
        {"unknown expect policy",
         [](v1::Rule& r) { r.mutable_options()->set_expect(static_cast<v1::ExpectPolicy>(9)); },
         "rule.options.expect: "},
        {"capture body cap over 4 GiB",
         [](v1::Rule& r) {
             r.mutable_options()->mutable_capture()->set_response_body_bytes(uint64_t{1} << 33);
         },
         "rule.options.capture.response_body_bytes: "},
        {"capture content type without a slash",
         [](v1::Rule& r) {
             auto* capture = r.mutable_options()->mutable_capture();
             capture->add_body_content_types("text/");
             capture->add_body_content_types("json");
         },
         "rule.options.capture.body_content_types[1]: "},
        {"capture redacting a name with a colon",
         [](v1::Rule& r) {
             r.mutable_options()->mutable_capture()->mutable_redact()->add_names("X-Token:");
         },
         "rule.options.capture.redact.names[0]: "},
    };
    for (const auto& c : cases) {
        auto rule = host_rule("r", "example.com", v1::ACTION_TUNNEL);
        c.spoil(rule);
        EXPECT_TRUE(has_status(create(rule), grpc::StatusCode::INVALID_ARGUMENT, c.message_start))
            << c.name;
    }
    EXPECT_EQ(list_rules().rules_size(), 0);
    EXPECT_EQ(list_rules().info().generation(), 0u);
    EXPECT_FALSE(std::filesystem::exists(rules_file())) << "a refused change writes nothing";

    // An update that fails validation leaves the stored rule as it was.
    v1::Rule stored;
    ASSERT_TRUE(create(host_rule("kept", "example.com", v1::ACTION_TUNNEL), &stored).ok());
    const auto file_before = read_file(rules_file());
    auto bad = stored;
    bad.mutable_match()->add_host_regexes("[");
    EXPECT_TRUE(has_status(update(bad), grpc::StatusCode::INVALID_ARGUMENT,
                           "rule.match.host_regexes[0]: "));
    const auto after = list_rules();
    ASSERT_EQ(after.rules_size(), 1);
    EXPECT_EQ(after.rules(0).version(), 1u);
    EXPECT_EQ(after.rules(0).match().host_regexes_size(), 0);
    EXPECT_EQ(read_file(rules_file()), file_before);
}

TEST_F(RulesServiceTest, ReplaceRulesWithOneBadRuleKeepsTheOldListInForce) {
    ASSERT_TRUE(replace({host_rule("one", "one.example", v1::ACTION_TUNNEL),
                         host_rule("two", "two.example", v1::ACTION_REJECT)})
                    .ok());
    const auto before = list_rules();
    const auto file_before = read_file(rules_file());
    ASSERT_FALSE(file_before.empty());

    auto bad_regex = host_rule("bad", "bad.example", v1::ACTION_TUNNEL);
    bad_regex.mutable_match()->add_host_regexes("*oops");
    EXPECT_TRUE(has_status(replace({host_rule("x", "x.example", v1::ACTION_HTTP), bad_regex,
                                    host_rule("y", "y.example", v1::ACTION_HTTP)}),
                           grpc::StatusCode::INVALID_ARGUMENT, "rules[1].match.host_regexes[0]: "));

    auto bad_port = host_rule("port", "p.example", v1::ACTION_TUNNEL);
    add_ports(bad_port, 70000);
    EXPECT_TRUE(has_status(replace({host_rule("x", "x.example", v1::ACTION_HTTP),
                                    host_rule("y", "y.example", v1::ACTION_HTTP), bad_port}),
                           grpc::StatusCode::INVALID_ARGUMENT, "rules[2].match.ports[0]: "));

    EXPECT_TRUE(has_status(replace({host_rule("same", "x.example", v1::ACTION_HTTP),
                                    host_rule("same", "y.example", v1::ACTION_HTTP)}),
                           grpc::StatusCode::INVALID_ARGUMENT, "rules[1].id: "));

    auto unspecified = host_rule("z", "z.example", v1::ACTION_UNSPECIFIED);
    EXPECT_TRUE(has_status(replace({host_rule("x", "x.example", v1::ACTION_HTTP), unspecified}),
                           grpc::StatusCode::INVALID_ARGUMENT, "rules[1].action: "));

    const auto after = list_rules();
    EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString())
        << "the old list, versions and generation stand";
    EXPECT_EQ(read_file(rules_file()), file_before) << "rules.json is unchanged byte for byte";
    EXPECT_EQ(explain("two.example", 443).rule_id(), "two")
        << "and the data plane still uses the old list";
}

TEST_F(RulesServiceTest, ReplaceRulesKeepsVersionsOfUnchangedRules) {
    ASSERT_TRUE(replace({host_rule("a", "a.example", v1::ACTION_TUNNEL),
                         host_rule("b", "b.example", v1::ACTION_TUNNEL)})
                    .ok());
    auto changed_a = host_rule("a", "a.example", v1::ACTION_HTTP);
    v1::ReplaceRulesResponse response;
    ASSERT_TRUE(replace({host_rule("b", "b.example", v1::ACTION_TUNNEL), changed_a,
                         host_rule("c", "c.example", v1::ACTION_MITM)},
                        &response)
                    .ok());
    ASSERT_EQ(response.rules_size(), 3);
    EXPECT_EQ(response.rules(0).id(), "b");
    EXPECT_EQ(response.rules(0).version(), 1u) << "unchanged";
    EXPECT_EQ(response.rules(1).id(), "a");
    EXPECT_EQ(response.rules(1).version(), 2u) << "changed";
    EXPECT_EQ(response.rules(2).id(), "c");
    EXPECT_EQ(response.rules(2).version(), 1u) << "new";
    for (int i = 0; i < 3; ++i) EXPECT_EQ(response.rules(i).order(), static_cast<std::uint32_t>(i));
    EXPECT_EQ(response.info().generation(), 2u);

    ASSERT_TRUE(replace({}, &response).ok());
    EXPECT_EQ(response.rules_size(), 0);
    EXPECT_EQ(list_rules().rules_size(), 0);
}

TEST_F(RulesServiceTest, ARuleThatDoesNotSayEnabledIsInForce) {
    v1::ReplaceRulesRequest replace;
    auto* rule = replace.add_rules();
    rule->set_id("silent");
    rule->mutable_match()->add_hosts("127.0.0.1");
    rule->set_action(v1::ACTION_REJECT);
    ASSERT_FALSE(rule->has_enabled());
    v1::ReplaceRulesResponse replaced;
    ASSERT_TRUE(rules->ReplaceRules(call().get(), replace, &replaced).ok());
    ASSERT_EQ(replaced.rules_size(), 1);
    EXPECT_TRUE(replaced.rules(0).enabled());
    RawResponse reply;
    auto client = open_connect(origin.authority(), reply);
    EXPECT_EQ(reply.status, 403);
}

TEST_F(RulesServiceTest, ChangeThatCannotBeSavedIsRefusedAndNotApplied) {
    ASSERT_TRUE(create(host_rule("saved", "saved.example", v1::ACTION_TUNNEL)).ok());
    // A directory where the file should be: rename() over it fails, even for root.
    std::filesystem::remove(rules_file());
    std::filesystem::create_directory(rules_file());

    auto reject = host_rule("unsaved", "127.0.0.1", v1::ACTION_REJECT);
    EXPECT_TRUE(has_status(create(reject), grpc::StatusCode::INTERNAL));
    const auto listed = list_rules();
    EXPECT_EQ(ids(listed), std::vector<std::string>{"saved"});
    EXPECT_EQ(listed.info().generation(), 1u);
    EXPECT_EQ(explain("127.0.0.1", origin.port()).rule_id(), "") << "nothing was published";

    CurlTransfer plain;
    plain.url(origin.url("/say/still-open"));
    route(plain, ClientRoute::absolute_form);
    ASSERT_EQ(plain.perform(), CURLE_OK) << plain.error_text();
    EXPECT_EQ(plain.response_code(), 200);

    std::vector<std::string> leftovers;
    for (const auto& entry : std::filesystem::directory_iterator(state_dir()))
        if (entry.path().filename().string().rfind(".rules.json.", 0) == 0)
            leftovers.push_back(entry.path());
    EXPECT_TRUE(leftovers.empty()) << "the temporary file of the failed write is removed";
}

}  // namespace
}  // namespace mproxy::test
