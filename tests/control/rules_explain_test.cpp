// RulesService.ExplainDecision against what real CONNECTs get, and a rule change applying to the
// next CONNECT while an open tunnel keeps working.

#include <gtest/gtest.h>

#include "tests/control/rules_fixture.hpp"

namespace mproxy::test {
namespace {

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

TEST_F(RulesServiceTest, ACapturePolicyIsKeptListedAndExplained) {
    auto rule = host_rule("keep-json", "api.example.com", v1::ACTION_MITM);
    auto* capture = rule.mutable_options()->mutable_capture();
    capture->set_response_body_bytes(65536);
    capture->add_body_content_types("application/json");
    capture->mutable_redact()->add_names("X-Api-Key");
    ASSERT_TRUE(create(rule).ok());

    const auto listed = list_rules();
    ASSERT_EQ(listed.rules_size(), 1);
    const auto& kept = listed.rules(0).options().capture();
    EXPECT_TRUE(kept.enabled()) << "absent means on";
    EXPECT_TRUE(kept.headers());
    EXPECT_EQ(kept.response_body_bytes(), 65536u);
    EXPECT_EQ(kept.request_body_bytes(), 0u);
    ASSERT_EQ(kept.body_content_types_size(), 1);
    ASSERT_EQ(kept.redact().names_size(), 1);
    EXPECT_EQ(kept.redact().names(0), "X-Api-Key");

    const auto covered = explain("api.example.com", 443);
    EXPECT_EQ(covered.rule_id(), "keep-json");
    EXPECT_EQ(covered.capture().response_body_bytes(), 65536u);
    // No rule: the server's default policy is what is in force.
    const auto other = explain("other.example.com", 443);
    EXPECT_EQ(other.rule_id(), "");
    EXPECT_FALSE(other.options().has_capture());
    EXPECT_TRUE(other.capture().enabled());
    EXPECT_TRUE(other.capture().headers());
    EXPECT_EQ(other.capture().response_body_bytes(), 0u);
    EXPECT_FALSE(other.capture().has_redact()) << "the default list, not a list of its own";
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

}  // namespace
}  // namespace mproxy::test
