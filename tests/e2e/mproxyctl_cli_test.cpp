// mproxyctl's behaviour around the commands: where it connects and with which token, the exit
// code of each kind of failure, --help with examples, and bash completion.

#include <gtest/gtest.h>

#include <fstream>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::test {
namespace {

TEST(MproxyctlCli, AnUnreachableServerExits3NamingTheAddress) {
    const std::string address = "127.0.0.1:" + std::to_string(free_port());
    const auto result =
        run_mproxyctl({"status", "--server", address, "--token", "whatever-0123456789"});
    EXPECT_EQ(result.status, 3) << result.err;
    EXPECT_NE(result.err.find("cannot reach the server at " + address), std::string::npos)
        << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
        << "one line: " << result.err;
}

TEST(MproxyctlCli, TokenComesFromFlagFileEnvironmentOrTheStateDirectoryAndABadOneExits4) {
    TemporaryDirectory xdg("mproxyctl-xdg");
    const auto state = xdg.path() / "mproxy";
    std::filesystem::create_directories(state);
    Mproxyd server(state);
    std::ifstream in(server.token_file());
    std::string token;
    std::getline(in, token);
    ASSERT_FALSE(token.empty());

    // The default: $XDG_STATE_HOME/mproxy/control-token, where mproxyd wrote it.
    const auto by_default = run_mproxyctl({"status", "--server", server.control()},
                                          {"XDG_STATE_HOME=" + xdg.path().string()});
    EXPECT_EQ(by_default.status, 0) << by_default.err;
    const auto by_env =
        run_mproxyctl({"status"}, {"MPROXY_SERVER=" + server.control(), "MPROXY_TOKEN=" + token,
                                   "XDG_STATE_HOME=/nonexistent"});
    EXPECT_EQ(by_env.status, 0) << by_env.err;
    EXPECT_EQ(run_mproxyctl({"status", "--server", server.control(), "--token", token}).status, 0);

    const auto refused = run_mproxyctl(
        {"status", "--server", server.control(), "--token", "wrong-token-0123456789"});
    EXPECT_EQ(refused.status, 4) << refused.err;
    EXPECT_NE(refused.err.find("refused the token from --token"), std::string::npos) << refused.err;

    const auto none =
        run_mproxyctl({"status", "--server", server.control()}, {"XDG_STATE_HOME=/nonexistent"});
    EXPECT_EQ(none.status, 4) << none.err;
    EXPECT_NE(none.err.find("/nonexistent/mproxy/control-token"), std::string::npos)
        << "where it looked: " << none.err;
    EXPECT_NE(none.err.find("$MPROXY_TOKEN"), std::string::npos) << none.err;

    const auto missing_file = run_mproxyctl(
        {"status", "--server", server.control(), "--token-file", "/nonexistent/token"});
    EXPECT_EQ(missing_file.status, 4) << missing_file.err;
    EXPECT_NE(missing_file.err.find("/nonexistent/token"), std::string::npos) << missing_file.err;
}

TEST(MproxyctlCli, UsageErrorsExit2AndHelpShowsExamplesAndExitCodes) {
    const auto no_command = run_mproxyctl({});
    EXPECT_EQ(no_command.status, 2) << no_command.err;
    const auto unknown = run_mproxyctl({"rules", "frobnicate"});
    EXPECT_EQ(unknown.status, 2);
    EXPECT_NE(unknown.err.find("frobnicate"), std::string::npos) << unknown.err;
    EXPECT_EQ(run_mproxyctl({"status", "-o", "xml"}).status, 2);

    const auto help = run_mproxyctl({"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("Exit codes:"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("3  server unreachable"), std::string::npos) << help.out;
    for (const std::vector<std::string>& command : {std::vector<std::string>{"rules", "add"},
                                                    {"rules", "explain"},
                                                    {"ca", "export"},
                                                    {"flows", "watch"},
                                                    {"conns", "list"},
                                                    {"conns", "close"},
                                                    {"status"}}) {
        auto args = command;
        args.push_back("--help");
        const auto shown = run_mproxyctl(args);
        EXPECT_EQ(shown.status, 0) << command[0];
        EXPECT_NE(shown.out.find("Examples:"), std::string::npos) << shown.out;
    }
}

// Bash, as a person would use it: the script sourced, the completion function called on a line.
std::string complete(const std::string& script, const std::string& line) {
    const std::string program = "source '" + script +
                                "'\n"
                                "COMP_LINE='" +
                                line +
                                "'\n"
                                "read -r -a COMP_WORDS <<< \"$COMP_LINE\"\n"
                                "[[ \"$COMP_LINE\" == *' ' ]] && COMP_WORDS+=('')\n"
                                "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
                                "_mproxyctl\n"
                                "echo \"${COMPREPLY[*]}\"\n";
    return run_command({"/bin/bash", "-c", program}, std::chrono::seconds(30)).out;
}

TEST(MproxyctlCli, BashCompletionCompletesCommandsFlagsAndTheirValues) {
    TemporaryDirectory dir("mproxyctl-completion");
    const auto script = (dir.path() / "mproxyctl.bash").string();
    const auto printed = run_mproxyctl({"completion", "bash"});
    ASSERT_EQ(printed.status, 0) << printed.err;
    std::ofstream(script) << printed.out;

    EXPECT_EQ(complete(script, "mproxyctl ru"), "rules\n");
    EXPECT_EQ(complete(script, "mproxyctl rules ex"), "explain\n");
    EXPECT_EQ(complete(script, "mproxyctl flows w"), "watch\n");
    EXPECT_EQ(complete(script, "mproxyctl rules add --host-s"), "--host-suffix\n");
    EXPECT_EQ(complete(script, "mproxyctl rules add --action re"), "reject\n");
    EXPECT_EQ(complete(script, "mproxyctl status -o y"), "yaml\n");
    EXPECT_EQ(complete(script, "mproxyctl conns list --sort by"), "bytes\n");
    EXPECT_EQ(complete(script, "mproxyctl --server 127.0.0.1:9 c"), "ca conns completion\n");
}

}  // namespace
}  // namespace mproxy::test
