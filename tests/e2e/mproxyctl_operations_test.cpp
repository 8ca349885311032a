// mproxyctl ca, conns and status against a real mproxyd: the CA shown, exported, rotated and
// imported back; live connections listed (once and refreshed) and closed; the server's status.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/blocking_socket.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;

class MproxyctlOperations : public ::testing::Test {
  protected:
    CtlResult ctl(std::vector<std::string> args) {
        return run_mproxyctl(with_connection(std::move(args), server));
    }
    std::string fingerprint() {
        const auto shown = json_lines(ctl({"ca", "show", "-o", "json"}).out);
        return shown.size() == 1 ? field(shown[0], "fingerprintSha256") : "";
    }
    // A CONNECT tunnel through the proxy to the origin, with 2 MB downloaded through it.
    BlockingSocket open_tunnel(const TestOrigin& origin) {
        const auto port = static_cast<std::uint16_t>(
            std::stoi(server.proxy().substr(server.proxy().rfind(':') + 1)));
        auto socket = BlockingSocket::connect_loopback(port);
        socket.send_all("CONNECT " + origin.authority() +
                        " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
        std::string answer;
        EXPECT_TRUE(socket.read_until(answer, "\r\n\r\n"));
        EXPECT_EQ(answer.find("HTTP/1.1 200"), 0u) << answer;
        socket.send_all("GET /bytes/2000000 HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
        std::string response;
        EXPECT_TRUE(socket.read_exactly(response, 2000000));
        return socket;
    }

    TemporaryDirectory state{"mproxyctl-ops"};
    Mproxyd server{state.path()};
};

TEST_F(MproxyctlOperations, CaShowExportRotateImportAndCache) {
    const auto table = ctl({"ca", "show"});
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("FINGERPRINT"), std::string::npos) << table.out;
    const auto original = fingerprint();
    ASSERT_FALSE(original.empty());

    const auto exported = state.path() / "exported.pem";
    ASSERT_EQ(ctl({"ca", "export", "-o", exported.string()}).status, 0);
    std::ifstream in(exported);
    std::stringstream pem;
    pem << in.rdbuf();
    std::ifstream state_ca(state.path() / "ca.pem");
    std::stringstream expected;
    expected << state_ca.rdbuf();
    EXPECT_EQ(pem.str(), expected.str()) << "the CA the server uses";
    EXPECT_EQ(ctl({"ca", "export"}).out, expected.str()) << "stdout without -o";

    // Keep the original key apart: rotating replaces the state directory's files.
    const auto key_copy = state.path() / "original-key.pem";
    std::filesystem::copy_file(state.path() / "ca-key.pem", key_copy);
    const auto rotated = ctl({"ca", "rotate", "-o", "yaml"});
    ASSERT_EQ(rotated.status, 0) << rotated.err;
    EXPECT_NE(rotated.out.find("fingerprintSha256:"), std::string::npos) << rotated.out;
    EXPECT_NE(fingerprint(), original);

    const auto imported =
        ctl({"ca", "import", "--cert", exported.string(), "--key", key_copy.string()});
    ASSERT_EQ(imported.status, 0) << imported.err;
    EXPECT_EQ(fingerprint(), original);
    const auto mismatched =
        ctl({"ca", "import", "--cert", exported.string(), "--key", exported.string()});
    EXPECT_EQ(mismatched.status, 5) << mismatched.err;

    const auto cache = ctl({"ca", "cache", "-o", "json"});
    ASSERT_EQ(cache.status, 0) << cache.err;
    const auto stats = json_lines(cache.out);
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_FALSE(field(stats[0], "capacity").empty());
    EXPECT_NE(field(stats[0], "capacity"), "0");
    const auto purged = json_lines(ctl({"ca", "cache", "--purge", "-o", "json"}).out);
    ASSERT_EQ(purged.size(), 1u);
    EXPECT_EQ(field(purged[0], "purged"), "0");
}

TEST_F(MproxyctlOperations, ConnsListSortsAndShowsBytesThenCloseEndsTheConnection) {
    TestOrigin origin;
    auto tunnel = open_tunnel(origin);

    const auto json = ctl({"conns", "list", "--sort", "bytes", "-o", "json"});
    ASSERT_EQ(json.status, 0) << json.err;
    const auto connections = json_lines(json.out);
    ASSERT_EQ(connections.size(), 1u) << json.out;
    EXPECT_EQ(field(connections[0], "target"), origin.authority());
    EXPECT_EQ(field(connections[0], "mode"), "CONNECTION_MODE_TUNNEL");
    EXPECT_GT(std::stoull(field(connections[0], "clientTxBytes")), 2000000u) << "exact in JSON";

    const auto table = ctl({"conns", "list"});
    EXPECT_NE(table.out.find("1.9 MiB"), std::string::npos) << "human in tables: " << table.out;
    EXPECT_NE(table.out.find("UPSTREAM RX"), std::string::npos) << table.out;

    EXPECT_EQ(ctl({"conns", "close", "999999"}).status, 6);
    EXPECT_EQ(ctl({"conns", "close"}).status, 2) << "an id, a filter or --all";
    const auto by_other_host =
        json_lines(ctl({"conns", "close", "--host", "elsewhere.example", "-o", "json"}).out);
    ASSERT_EQ(by_other_host.size(), 1u);
    EXPECT_EQ(field(by_other_host[0], "closed"), "0");
    const auto closed =
        json_lines(ctl({"conns", "close", "--client", "127.0.0.0/8", "-o", "json"}).out);
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(field(closed[0], "closed"), "1");
    std::string rest;
    EXPECT_NE(tunnel.read_until_closed(rest), ReadStatus::timeout) << "the tunnel was closed";
}

TEST_F(MproxyctlOperations, ConnsListWatchRefreshesTheTable) {
    TestOrigin origin;
    auto tunnel = open_tunnel(origin);
    MproxyctlProcess watch(
        with_connection({"conns", "list", "--watch", "--interval", "0.2"}, server));
    const auto tables = [](const std::string& out) {
        std::size_t count = 0;
        for (auto at = out.find("ID "); at != std::string::npos; at = out.find("ID ", at + 1))
            ++count;
        return count;
    };
    ASSERT_TRUE(watch.wait_until([&](const std::string& out) { return tables(out) >= 2; }))
        << watch.out() << watch.err();
    EXPECT_NE(watch.out().find(origin.authority()), std::string::npos) << watch.out();
    EXPECT_EQ(watch.out().find("\033[2J"), std::string::npos)
        << "no screen clearing when stdout is no terminal";
}

TEST_F(MproxyctlOperations, StatusShowsTheServerTotalsAndHealth) {
    TestOrigin origin;
    EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/hi")), "200");
    const auto json = ctl({"status", "-o", "json"});
    ASSERT_EQ(json.status, 0) << json.err;
    const auto status = json_lines(json.out);
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(field(status[0], "health"), "SERVING");
    EXPECT_EQ(field(status[0], "totals.exchanges"), "1");
    EXPECT_FALSE(field(status[0], "logId").empty());
    EXPECT_TRUE(field(status[0], "capture.file").ends_with("captures.db")) << json.out;
    const auto table = ctl({"status"});
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("SERVING"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("CAPTURED"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("control=" + server.control()), std::string::npos) << table.out;
    const auto yaml = ctl({"status", "-o", "yaml"});
    EXPECT_NE(yaml.out.find("health: SERVING"), std::string::npos) << yaml.out;
}

}  // namespace
}  // namespace mproxy::test
