// mproxyd's control plane as an operator meets it: the token generated at first start (and where
// it is), rules that survive a restart of the process, and clear failures for a taken control port
// or an unreadable token file.

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include "mproxy/v1/rules.grpc.pb.h"
#include "mproxy/v1/server.grpc.pb.h"
#include "tests/e2e/child_process.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;
const std::string mproxyd = MPROXYD_PATH;

// mproxyd on ephemeral proxy and control ports, both read back from its log.
struct RunningMproxyd {
    explicit RunningMproxyd(const std::filesystem::path& state, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                      "--state-dir", state.string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<ChildProcess>(argv);
        if (!process->wait_for_output("control plane (gRPC) on", 20s))
            throw std::runtime_error("mproxyd did not start: " + process->output());
        const auto out = process->output();
        std::smatch m;
        if (!std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"))) throw std::runtime_error(out);
        proxy = "127.0.0.1:" + m[1].str();
        if (!std::regex_search(out, m, std::regex("control plane \\(gRPC\\) on 127\\.0\\.0\\.1:([0-9]+)")))
            throw std::runtime_error(out);
        control = "127.0.0.1:" + m[1].str();
        channel = grpc::CreateChannel(control, grpc::InsecureChannelCredentials());
    }
    void stop() {
        process->signal(SIGTERM);
        const auto status = process->wait(15s);
        ASSERT_TRUE(status.has_value()) << "mproxyd still running 15 s after SIGTERM";
        EXPECT_EQ(*status, 0) << process->output();
    }

    std::unique_ptr<ChildProcess> process;
    std::string proxy, control;
    std::shared_ptr<grpc::Channel> channel;
};

std::unique_ptr<grpc::ClientContext> with_token(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + 10s);
    return context;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
}

CommandResult curl_status(const std::string& proxy, const std::string& url) {
    return run_command({"/usr/bin/curl", "--silent", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}",
                        "-x", proxy, url},
                       60s);
}

TEST(MproxydControl, GeneratesAPrivateTokenAtFirstStartSaysWhereAndKeepsIt) {
    TemporaryDirectory state("mproxy-e2e-control");
    std::string token;
    {
        RunningMproxyd server(state.path());
        const auto token_path = state.path() / "control-token";
        ASSERT_TRUE(std::filesystem::exists(token_path)) << server.process->output();
        EXPECT_NE(server.process->output().find(token_path.string()), std::string::npos)
            << "the log must say where the token is: " << server.process->output();
        struct stat info {};
        ASSERT_EQ(::stat(token_path.c_str(), &info), 0);
        EXPECT_EQ(info.st_mode & 0777, 0600u);
        token = read_file(token_path);
        EXPECT_GE(token.size(), 32u);

        auto stub = v1::ServerService::NewStub(server.channel);
        v1::GetServerInfoRequest request;
        v1::ServerInfo info_reply;
        EXPECT_TRUE(stub->GetServerInfo(with_token(token).get(), request, &info_reply).ok());
        const auto refused = stub->GetServerInfo(with_token("").get(), request, &info_reply);
        EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        const auto wrong = stub->GetServerInfo(with_token(token + "x").get(), request, &info_reply);
        EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        server.stop();
    }
    RunningMproxyd again(state.path());
    EXPECT_EQ(read_file(state.path() / "control-token"), token) << "a restart must keep the token";
    again.stop();
}

TEST(MproxydControl, ARuleAddedOverGrpcChangesWhatCurlSeesAndSurvivesARestart) {
    TestOrigin origin;
    TemporaryDirectory state("mproxy-e2e-control");
    std::ofstream(state.path() / "token") << "e2e-token-0123456789abcdef\n";
    const std::vector<std::string> token_flag{"--control-token-file", (state.path() / "token").string()};
    const std::string token = "e2e-token-0123456789abcdef";
    const auto url = origin.url("/say/hello");
    {
        RunningMproxyd server(state.path(), token_flag);
        EXPECT_EQ(curl_status(server.proxy, url).out, "200");
        auto rules = v1::RulesService::NewStub(server.channel);
        v1::CreateRuleRequest create;
        auto* rule = create.mutable_rule();
        rule->set_id("block-origin");
        rule->mutable_match()->add_hosts("127.0.0.1");
        auto* port = rule->mutable_match()->add_ports();
        port->set_first(origin.port());
        rule->set_action(v1::ACTION_REJECT);
        v1::Rule created;
        const auto status = rules->CreateRule(with_token(token).get(), create, &created);
        ASSERT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(curl_status(server.proxy, url).out, "403");
        server.stop();
    }
    EXPECT_TRUE(std::filesystem::exists(state.path() / "rules.json"));
    RunningMproxyd again(state.path(), token_flag);
    EXPECT_EQ(curl_status(again.proxy, url).out, "403") << "the rule must be in force from the first request";
    auto rules = v1::RulesService::NewStub(again.channel);
    v1::ListRulesResponse listed;
    ASSERT_TRUE(rules->ListRules(with_token(token).get(), {}, &listed).ok());
    ASSERT_EQ(listed.rules_size(), 1);
    EXPECT_EQ(listed.rules(0).id(), "block-origin");
    again.stop();
}

TEST(MproxydControl, ATakenControlPortIsAClearErrorAndExit1) {
    TemporaryDirectory state("mproxy-e2e-control");
    RunningMproxyd first(state.path());
    ChildProcess second({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", first.control, "--metrics-listen",
                         "127.0.0.1:0", "--state-dir", state.path().string()});
    const auto status = second.wait(20s);
    ASSERT_TRUE(status.has_value()) << "a second mproxyd on a taken control port kept running";
    EXPECT_EQ(*status, 1);
    EXPECT_NE(second.output().find(first.control), std::string::npos) << second.output();
    first.stop();
}

TEST(MproxydControl, AMissingTokenFileIsAClearErrorAndExit1) {
    TemporaryDirectory state("mproxy-e2e-control");
    const auto missing = (state.path() / "no-such-token").string();
    ChildProcess child({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--state-dir",
                        state.path().string(), "--control-token-file", missing});
    const auto status = child.wait(20s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    EXPECT_NE(child.output().find(missing), std::string::npos) << child.output();
}

TEST(MproxydControl, ABadRulesFileStopsTheStartWithTheFieldNamed) {
    TemporaryDirectory state("mproxy-e2e-control");
    std::ofstream(state.path() / "rules.json") << R"({"rules": [{"id": "x", "action": "ACTION_TUNNEL", "match": {"hostRegexes": ["("]}}]})";
    ChildProcess child({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--state-dir",
                        state.path().string()});
    const auto status = child.wait(20s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    EXPECT_NE(child.output().find("host_regexes[0]"), std::string::npos) << child.output();
}

}  // namespace
}  // namespace mproxy::test
