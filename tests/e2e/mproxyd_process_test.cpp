// mproxyd as its users run it: a process started with flags, driven by the curl command line,
// stopped by a signal.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <regex>

#include "tests/e2e/child_process.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;
const std::string mproxyd = MPROXYD_PATH;

// A running mproxyd on an ephemeral port, read back from its start-up log line.
class Mproxyd {
  public:
    explicit Mproxyd(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{
            mproxyd,       "--listen",         "127.0.0.1:0", "--control-listen",
            "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--threads",
            "2",           "--log-level",      "info"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process = std::make_unique<ChildProcess>(argv);
        if (!process->wait_for_output("listening on", 20s))
            throw std::runtime_error("mproxyd did not start");
        std::smatch m;
        const auto out = process->output();
        if (!std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)")))
            throw std::runtime_error("no port in: " + out);
        port = m[1];
    }
    std::string proxy() const { return "127.0.0.1:" + port; }

    std::unique_ptr<ChildProcess> process;
    std::string port;
};

CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/curl", "--silent", "--show-error", "--max-time", "60"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 90s);
}

TEST(MproxydProcess, ServesCurlAndStopsCleanlyOnSigterm) {
    TestOrigin origin;
    Mproxyd server;
    const auto got = curl({"-x", server.proxy(), origin.url("/say/hello-through-mproxyd")});
    EXPECT_EQ(got.status, 0) << got.out;
    EXPECT_EQ(got.out, "hello-through-mproxyd");

    server.process->signal(SIGTERM);
    const auto status = server.process->wait(10s);
    ASSERT_TRUE(status.has_value()) << "mproxyd still running 10 s after SIGTERM";
    EXPECT_EQ(*status, 0) << server.process->output();
    EXPECT_NE(server.process->output().find("received SIGTERM"), std::string::npos);
}

TEST(MproxydProcess, StopsCleanlyOnSigint) {
    Mproxyd server;
    server.process->signal(SIGINT);
    const auto status = server.process->wait(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0);
}

TEST(MproxydProcess, CurlUploadWithExpectContinueThroughHttpConnect) {
    TestOrigin origin;
    Mproxyd server({"--connect-action", "http"});
    // 3 MiB from a file, with curl's expect timeout far above what the upload takes.
    const std::string file = "/tmp/mproxy-e2e-upload.bin";
    {
        std::string data(3 << 20, 'x');
        FILE* f = std::fopen(file.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fwrite(data.data(), 1, data.size(), f);
        std::fclose(f);
    }
    const auto got =
        curl({"-p", "-x", server.proxy(), "-H", "Expect: 100-continue", "--expect100-timeout", "30",
              "-v", "-T", file, "-X", "POST", origin.url("/upload")});
    std::remove(file.c_str());
    EXPECT_EQ(got.status, 0) << got.out;
    EXPECT_NE(got.out.find("HTTP/1.1 100 Continue"), std::string::npos) << got.out;
    EXPECT_NE(got.out.find("X-Received-Bytes: 3145728"), std::string::npos) << got.out;
    EXPECT_TRUE(origin.wait_for_event("100-sent /upload"));
}

TEST(MproxydProcess, RejectActionAnswers403ToCurl) {
    TestOrigin origin;
    Mproxyd server({"--connect-action", "reject"});
    const auto got = curl({"-p", "-x", server.proxy(), "-o", "/dev/null", "-w", "%{http_connect}",
                           origin.url("/say/x")});
    EXPECT_NE(got.status, 0);  // curl fails the transfer when CONNECT is refused
    EXPECT_NE(got.out.find("403"), std::string::npos) << got.out;
}

TEST(MproxydProcess, TakenPortIsAClearErrorAndNonZeroExit) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = std::to_string(taken.local_endpoint().port());
    ChildProcess child({mproxyd, "--listen", "127.0.0.1:" + port, "--control-listen", "127.0.0.1:0",
                        "--metrics-listen", "127.0.0.1:0"});
    const auto status = child.wait(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    EXPECT_NE(
        child.output().find("cannot listen on 127.0.0.1:" + port + ": Address already in use"),
        std::string::npos)
        << child.output();
}

TEST(MproxydProcess, BadFlagsAreClearErrorsWithExitCode2) {
    const std::vector<std::vector<std::string>> cases = {{"--bogus"},
                                                         {"--connect-action", "teleport"},
                                                         {"--listen", "no-port-here"},
                                                         {"--threads", "0"}};
    for (const auto& args : cases) {
        std::vector<std::string> argv{mproxyd};
        argv.insert(argv.end(), args.begin(), args.end());
        ChildProcess child(argv);
        const auto status = child.wait(10s);
        ASSERT_TRUE(status.has_value());
        EXPECT_EQ(*status, 2) << args[0] << ": " << child.output();
        EXPECT_NE(child.output().find(args[0]), std::string::npos) << child.output();
    }
}

TEST(MproxydProcess, HelpListsEveryFlag) {
    const auto got = run_command({mproxyd, "--help"}, 10s);
    EXPECT_EQ(got.status, 0);
    for (const char* flag : {"--listen",
                             "--connect-action",
                             "--threads",
                             "--connect-timeout",
                             "--header-timeout",
                             "--idle-timeout",
                             "--max-header-bytes",
                             "--log-level",
                             "--control-listen",
                             "--control-token-file",
                             "--control-tls-cert",
                             "--control-tls-key",
                             "--control-tls-client-ca",
                             "--rules-file",
                             "--flow-log-size",
                             "--metrics-listen",
                             "--metrics-connection-grace",
                             "--metrics-connection-series-limit",
                             "--config",
                             "--drain-timeout",
                             "--max-connections",
                             "--max-connections-per-client",
                             "--max-connection-lifetime",
                             "--log-format"})
        EXPECT_NE(got.out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace mproxy::test
