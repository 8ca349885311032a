#pragma once
// The RulesService tests' fixture: a proxy and its control server (ControlFixture), with the calls
// in a line each, and rules built in a line each.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "tests/control/control_fixture.hpp"

namespace mproxy::test {

inline v1::Rule host_rule(const std::string& id, const std::string& host, v1::Action action) {
    v1::Rule rule;
    rule.set_id(id);
    rule.set_enabled(true);
    rule.mutable_match()->add_hosts(host);
    rule.set_action(action);
    return rule;
}

inline v1::PortRange* add_ports(v1::Rule& rule, std::uint32_t first, std::uint32_t last = 0) {
    auto* range = rule.mutable_match()->add_ports();
    range->set_first(first);
    range->set_last(last);
    return range;
}

inline ::testing::AssertionResult has_status(const grpc::Status& status, grpc::StatusCode code,
                                      std::string_view message_start = {}) {
    if (status.error_code() != code || status.error_message().rfind(message_start, 0) != 0) {
        return ::testing::AssertionFailure()
               << "status " << status.error_code() << " \"" << status.error_message()
               << "\", expected " << code << " starting with \"" << message_start << "\"";
    }
    return ::testing::AssertionSuccess();
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The address the proxy sees for this client, as its connection registry writes it.
inline std::string local_address(RawHttpClient& client) {
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

}  // namespace mproxy::test
