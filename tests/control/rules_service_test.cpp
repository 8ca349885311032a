// RulesService over a real gRPC channel: CRUD with versions and positions, every validation error
// naming its field, ExplainDecision against what real CONNECTs get, and a rule change applying to
// the next CONNECT while an open tunnel keeps working.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "tests/control/control_fixture.hpp"

namespace mproxy::test {
namespace {

v1::Rule host_rule(const std::string& id, const std::string& host, v1::Action action) {
    v1::Rule rule;
    rule.set_id(id);
    rule.set_enabled(true);
    rule.mutable_match()->add_hosts(host);
    rule.set_action(action);
    return rule;
}

v1::PortRange* add_ports(v1::Rule& rule, std::uint32_t first, std::uint32_t last = 0) {
    auto* range = rule.mutable_match()->add_ports();
    range->set_first(first);
    range->set_last(last);
    return range;
}

::testing::AssertionResult has_status(const grpc::Status& status, grpc::StatusCode code,
                                      std::string_view message_start = {}) {
    if (status.error_code() != code || status.error_message().rfind(message_start, 0) != 0) {
        return ::testing::AssertionFailure()
               << "status " << status.error_code() << " \"" << status.error_message()
               << "\", expected " << code << " starting with \"" << message_start << "\"";
    }
    return ::testing::AssertionSuccess();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The address the proxy sees for this client, as its connection registry writes it.
std::string local_address(RawHttpClient& client) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (::getsockname(client.socket().native(), reinterpret_cast<sockaddr*>(&address), &length) !=
        0)
        return {};
    return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

class RulesServiceTest : public ControlFixture {
  protected:
    v1::ListRulesResponse list_rules() {
        v1::ListRulesResponse response;
        const auto status = rules->ListRules(call().get(), {}, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response;
    }

    grpc::Status create(const v1::Rule& rule, v1::Rule* out = nullptr,
                        std::optional<std::uint32_t> position = {}, bool disabled = false) {
        v1::CreateRuleRequest request;
        *request.mutable_rule() = rule;
        if (position) request.set_position(*position);
        request.set_disabled(disabled);
        v1::Rule ignored;
        return rules->CreateRule(call().get(), request, out ? out : &ignored);
    }

    grpc::Status update(const v1::Rule& rule, v1::Rule* out = nullptr,
                        std::optional<std::uint32_t> position = {}) {
        v1::UpdateRuleRequest request;
        *request.mutable_rule() = rule;
        if (position) request.set_position(*position);
        v1::Rule ignored;
        return rules->UpdateRule(call().get(), request, out ? out : &ignored);
    }

    grpc::Status replace(const std::vector<v1::Rule>& list,
                         v1::ReplaceRulesResponse* out = nullptr) {
        v1::ReplaceRulesRequest request;
        for (const auto& rule : list) *request.add_rules() = rule;
        v1::ReplaceRulesResponse ignored;
        return rules->ReplaceRules(call().get(), request, out ? out : &ignored);
    }

    v1::ExplainDecisionResponse explain(const std::string& host, std::uint32_t port,
                                        const std::string& client = {}) {
        v1::ExplainDecisionRequest request;
        request.set_host(host);
        request.set_port(port);
        request.set_client(client);
        v1::ExplainDecisionResponse response;
        const auto status = rules->ExplainDecision(call().get(), request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response;
    }

    static std::vector<std::string> ids(const v1::ListRulesResponse& list) {
        std::vector<std::string> out;
        for (const auto& rule : list.rules()) out.push_back(rule.id());
        return out;
    }

    std::filesystem::path rules_file() const { return state_dir() / "rules.json"; }
};

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

TEST_F(RulesServiceTest, ExplainDecisionValidatesItsArguments) {
    v1::ExplainDecisionRequest request;
    v1::ExplainDecisionResponse response;
    EXPECT_TRUE(has_status(rules->ExplainDecision(call().get(), request, &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "host"));
    request.set_host("example.com");
    request.set_port(70000);
    EXPECT_TRUE(has_status(rules->ExplainDecision(call().get(), request, &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "port"));
    request.set_port(0);
    request.set_client("not-an-address");
    EXPECT_TRUE(has_status(rules->ExplainDecision(call().get(), request, &response),
                           grpc::StatusCode::INVALID_ARGUMENT, "client"));

    // Port 0 means 443 and an empty client 127.0.0.1.
    auto https_only = host_rule("https-only", "example.com", v1::ACTION_MITM);
    add_ports(https_only, 443);
    https_only.mutable_match()->add_client_cidrs("127.0.0.1");
    ASSERT_TRUE(create(https_only).ok());
    const auto defaulted = explain("example.com", 0);
    EXPECT_EQ(defaulted.rule_id(), "https-only");
    EXPECT_EQ(defaulted.action(), v1::ACTION_MITM);
    EXPECT_EQ(defaulted.generation(), 1u);
    EXPECT_EQ(explain("example.com", 80).rule_id(), "");
    EXPECT_EQ(explain("example.com", 443, "::1").rule_id(), "");
}

// The table: what ExplainDecision says for a target, then what a real CONNECT from 127.0.0.1 gets.
TEST_F(RulesServiceTest, ExplainDecisionAgreesWithTheDataPlane) {
    TestOrigin tunnel_origin,
        default_origin;  // beside `origin`: one port per outcome that connects
    const std::uint32_t http_port = origin.port(), tunnel_port = tunnel_origin.port(),
                        default_port = default_origin.port();

    auto disabled = host_rule("disabled-reject", "127.0.0.1", v1::ACTION_REJECT);
    disabled.set_enabled(false);
    disabled.set_reject_status(418);
    auto far_clients = host_rule("far-clients", "127.0.0.1", v1::ACTION_REJECT);
    far_clients.mutable_match()->add_host_globs("*");
    far_clients.mutable_match()->add_client_cidrs("10.0.0.0/8");
    v1::Rule low_ports;
    low_ports.set_enabled(true);
    low_ports.set_id("low-ports");
    add_ports(low_ports, 1, 1023);
    low_ports.set_action(v1::ACTION_REJECT);
    low_ports.set_reject_status(451);
    v1::Rule blocked_suffix;
    blocked_suffix.set_enabled(true);
    blocked_suffix.set_id("blocked-suffix");
    blocked_suffix.mutable_match()->add_host_suffixes("blocked.test");
    blocked_suffix.set_action(v1::ACTION_REJECT);
    v1::Rule glob_http;
    glob_http.set_enabled(true);
    glob_http.set_id("glob-http");
    glob_http.mutable_match()->add_host_globs("127.0.0.?");
    add_ports(glob_http, http_port);
    glob_http.mutable_match()->add_client_cidrs("127.0.0.0/8");
    glob_http.set_action(v1::ACTION_HTTP);
    auto tunnel = host_rule("tunnel-port", "127.0.0.1", v1::ACTION_TUNNEL);
    add_ports(tunnel, tunnel_port);
    v1::Rule regex_reject;
    regex_reject.set_enabled(true);
    regex_reject.set_id("regex-reject");
    regex_reject.mutable_match()->add_host_regexes("nothing-[0-9]+\\.test");
    regex_reject.set_action(v1::ACTION_REJECT);
    regex_reject.set_reject_status(410);
    regex_reject.set_reject_message("gone by rule");

    ASSERT_TRUE(
        replace({disabled, far_clients, low_ports, blocked_suffix, glob_http, tunnel, regex_reject})
            .ok());

    struct Case {
        std::string host;
        std::uint32_t port;
        std::string rule_id;  // empty: the default action (tunnel)
        v1::Action action;
        unsigned status;  // what the CONNECT gets
    };
    const std::vector<Case> cases = {
        {"127.0.0.1", 81, "low-ports", v1::ACTION_REJECT, 451},
        {"www.blocked.test", 443, "low-ports", v1::ACTION_REJECT, 451},  // the first match wins
        {"www.blocked.test", 4443, "blocked-suffix", v1::ACTION_REJECT, 403},
        {"BLOCKED.test", 8443, "blocked-suffix", v1::ACTION_REJECT, 403},
        {"nothing-42.test", 9443, "regex-reject", v1::ACTION_REJECT, 410},
        {"127.0.0.1", http_port, "glob-http", v1::ACTION_HTTP, 200},
        {"127.0.0.1", tunnel_port, "tunnel-port", v1::ACTION_TUNNEL, 200},
        {"127.0.0.1", default_port, "", v1::ACTION_TUNNEL, 200},
    };
    for (const auto& c : cases) {
        const std::string authority = c.host + ":" + std::to_string(c.port);
        SCOPED_TRACE(authority);
        const auto said = explain(c.host, c.port);
        EXPECT_EQ(said.rule_id(), c.rule_id);
        EXPECT_EQ(said.action(), c.action);
        EXPECT_EQ(said.generation(), 1u);
        ASSERT_GE(said.trace_size(), 1);
        EXPECT_EQ(said.trace(0).rule_id(), "disabled-reject");
        EXPECT_FALSE(said.trace(0).matched()) << "a disabled rule never decides";

        RawResponse reply;
        auto client = open_connect(authority, reply);
        if (said.action() == v1::ACTION_REJECT) {
            EXPECT_EQ(reply.status, static_cast<int>(said.reject_status()));
            EXPECT_EQ(said.reject_status(), c.status);
            if (!said.reject_message().empty()) {
                EXPECT_NE(reply.body.find(said.reject_message()), std::string::npos) << reply.body;
            }
            continue;
        }
        ASSERT_EQ(reply.status, 200);
        // Both relay a request through; only the connection's mode tells them apart.
        client.send("GET /say/through HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
        const auto answer = client.read_response();
        ASSERT_TRUE(answer.response) << answer.error;
        EXPECT_EQ(answer.response->status, 200);
        EXPECT_EQ(answer.response->body, "through");
        const auto address = local_address(client);
        const auto connection = wait_for_connection(
            [&](const proxy::ConnectionSnapshot& s) { return s.client == address; });
        ASSERT_TRUE(connection) << "no live connection from " << address;
        EXPECT_EQ(connection->mode, said.action() == v1::ACTION_HTTP
                                        ? proxy::ConnectionMode::http
                                        : proxy::ConnectionMode::tunnel)
            << describe(*connection);
    }

    // The client CIDR cannot be sent from here, but explain takes any client.
    const auto far = explain("127.0.0.1", http_port, "10.1.2.3");
    EXPECT_EQ(far.rule_id(), "far-clients");
    EXPECT_EQ(far.action(), v1::ACTION_REJECT);
    EXPECT_EQ(far.reject_status(), 403u) << "reject_status 0 means 403";
}

TEST_F(RulesServiceTest, RuleChangeAppliesToTheNextConnectWhileAnOpenTunnelKeepsWorking) {
    const std::string authority = origin.authority();
    RawResponse reply;
    auto tunnel = open_connect(authority, reply);
    ASSERT_EQ(reply.status, 200);
    tunnel.send("GET /say/before HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    auto answer = tunnel.read_response();
    ASSERT_TRUE(answer.response) << answer.error;
    EXPECT_EQ(answer.response->body, "before");

    auto reject = host_rule("no-origin", "127.0.0.1", v1::ACTION_REJECT);
    add_ports(reject, origin.port());
    ASSERT_TRUE(create(reject).ok());

    tunnel.send("GET /say/after HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    answer = tunnel.read_response();
    ASSERT_TRUE(answer.response) << answer.error;
    EXPECT_EQ(answer.response->status, 200);
    EXPECT_EQ(answer.response->body, "after") << "the tunnel opened before the change is untouched";

    RawResponse refused;
    auto second = open_connect(authority, refused);
    EXPECT_EQ(refused.status, 403) << "a new CONNECT meets the new rule";

    CurlTransfer plain;
    plain.url(origin.url("/say/plain"));
    route(plain, ClientRoute::absolute_form);
    ASSERT_EQ(plain.perform(), CURLE_OK) << plain.error_text();
    EXPECT_EQ(plain.response_code(), 403) << "rules apply to plain requests too";

    // Removing the rule opens the way again, for both.
    v1::DeleteRuleRequest remove;
    remove.set_id("no-origin");
    v1::DeleteRuleResponse removed;
    ASSERT_TRUE(rules->DeleteRule(call().get(), remove, &removed).ok());
    ASSERT_EQ(plain.perform(), CURLE_OK) << plain.error_text();
    EXPECT_EQ(plain.response_code(), 200);
    EXPECT_EQ(plain.body_text(), "plain");
    RawResponse allowed;
    auto third = open_connect(authority, allowed);
    EXPECT_EQ(allowed.status, 200);
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
