// mproxyctl flows show / body / har / list --since against mproxyd keeping captures: the exchange
// printed as curl -v would, bodies written out (decoded or raw), a HAR file, history across a
// restart, and the usage errors of bad times and unknown flows.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The flow id of the newest stored exchange whose path is `path` (polls: the store commits in
// batches).
std::string stored_flow_id(const Mproxyd& server, const std::string& path) {
    for (int i = 0; i < 100; ++i) {
        const auto listed = run_mproxyctl(
            with_connection({"flows", "list", "--since", "1h", "-o", "json"}, server));
        for (const auto& flow : json_lines(listed.out))
            if (field(flow, "path") == path &&
                field(flow, "captureState") == "CAPTURE_STATE_STORED")
                return field(flow, "flowId");
        std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << path << " never stored";
    return "0";
}

TEST(MproxyctlCapture, ShowBodyAndHarReadTheStoreAlsoAfterARestart) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-capture");
    Mproxyd server(state.path(), "127.0.0.1:0", {"--capture-body-bytes", "65536"});
    ASSERT_EQ(curl_status(server.proxy(), origin.url("/say/captured-body")), "200");
    const auto id = stored_flow_id(server, "/say/captured-body");

    const auto shown = run_mproxyctl(with_connection({"flows", "show", id}, server));
    ASSERT_EQ(shown.status, 0) << shown.err;
    for (const auto* line :
         {"> GET /say/captured-body HTTP/1.1\n", "> Host: 127.0.0.1:", "< HTTP/1.1 200 ",
          "\ncaptured-body\n", "* response body: 13 B, captured whole", "* to 127.0.0.1:"})
        EXPECT_NE(shown.out.find(line), std::string::npos) << line << " in:\n" << shown.out;

    const auto table = run_mproxyctl(with_connection({"flows", "list", "--since", "1h"}, server));
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("CAPTURED"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("/say/captured-body"), std::string::npos) << table.out;
    EXPECT_EQ(table.out.back(), '\n');
    const auto row = table.out.substr(table.out.find("/say/captured-body"));
    EXPECT_EQ(row.substr(row.find_last_not_of(" \n", row.find('\n')) - 2, 3), "yes") << row;

    const auto body = run_mproxyctl(with_connection({"flows", "body", id}, server));
    ASSERT_EQ(body.status, 0) << body.err;
    EXPECT_EQ(body.out, "captured-body");
    const auto file = state.path() / "body.bin";
    const auto raw =
        run_mproxyctl(with_connection({"flows", "body", id, "--raw", "-o", file.string()}, server));
    ASSERT_EQ(raw.status, 0) << raw.err;
    EXPECT_EQ(read_file(file), "captured-body");
    EXPECT_FALSE(std::filesystem::exists(file.string() + ".partial"));

    server.stop();
    server.start();  // the store outlives the process: the flow log does not
    const auto after = run_mproxyctl(with_connection({"flows", "show", id, "-o", "json"}, server));
    ASSERT_EQ(after.status, 0) << after.err;
    const auto flow = nlohmann::json::parse(after.out);
    EXPECT_EQ(flow["capture"]["request"]["target"], "/say/captured-body");
    EXPECT_EQ(flow["captureState"], "CAPTURE_STATE_STORED");

    const auto har_file = state.path() / "out.har";
    const auto har = run_mproxyctl(
        with_connection({"flows", "har", "--since", "1h", "-o", har_file.string()}, server));
    ASSERT_EQ(har.status, 0) << har.err;
    const auto document = nlohmann::json::parse(read_file(har_file));
    ASSERT_EQ(document["log"]["entries"].size(), 1u);
    EXPECT_EQ(document["log"]["entries"][0]["response"]["content"]["text"], "captured-body");

    // Nothing started in the future: an empty document, still a valid one.
    const auto none = run_mproxyctl(with_connection(
        {"flows", "har", "--since", "2999-01-01T00:00:00Z", "-o", har_file.string()}, server));
    ASSERT_EQ(none.status, 0) << none.err;
    EXPECT_EQ(nlohmann::json::parse(read_file(har_file))["log"]["entries"].size(), 0u);
}

TEST(MproxyctlCapture, WatchWithHeadersPrintsTheFieldsUnderEachHead) {
    TestOrigin origin;
    TemporaryDirectory state("mproxyctl-watch-headers");
    Mproxyd server(state.path());
    MproxyctlProcess watch(with_connection({"flows", "watch", "--headers"}, server));
    // The watch asks for headers once it runs: until then exchanges have none to show.
    auto shows_fields = [](const std::string& out) {
        return out.find("    > Host: 127.0.0.1:") != std::string::npos &&
               out.find("    < Content-Length: ") != std::string::npos;
    };
    for (int i = 0; i < 50 && !shows_fields(watch.out()); ++i) {
        EXPECT_EQ(curl_status(server.proxy(), origin.url("/say/fields")), "200");
        watch.wait_until(shows_fields, 200ms);
    }
    EXPECT_TRUE(shows_fields(watch.out())) << watch.out() << watch.err();
}

TEST(MproxyctlCapture, BadTimesAndUnknownFlowsAreClearErrors) {
    TemporaryDirectory state("mproxyctl-capture-errors");
    Mproxyd server(state.path());
    const auto bad_time =
        run_mproxyctl(with_connection({"flows", "list", "--since", "yesterday"}, server));
    EXPECT_EQ(bad_time.status, 2);
    EXPECT_NE(bad_time.err.find("--since: \"yesterday\""), std::string::npos) << bad_time.err;

    const auto unknown = run_mproxyctl(with_connection({"flows", "body", "987654"}, server));
    EXPECT_EQ(unknown.status, 6) << unknown.err;
    EXPECT_NE(unknown.err.find("flow 987654"), std::string::npos) << unknown.err;

    const auto show_unknown = run_mproxyctl(with_connection({"flows", "show", "987654"}, server));
    EXPECT_EQ(show_unknown.status, 6) << show_unknown.err;

    // Bodies are off by default (--capture-body-bytes 0): the refusal says how to turn them on.
    TestOrigin origin;
    ASSERT_EQ(curl_status(server.proxy(), origin.url("/say/no-body-kept")), "200");
    const auto id = stored_flow_id(server, "/say/no-body-kept");
    const auto off = run_mproxyctl(with_connection({"flows", "body", id}, server));
    EXPECT_NE(off.status, 0);
    EXPECT_NE(off.err.find("--capture-body-bytes"), std::string::npos) << off.err;
}

}  // namespace
}  // namespace mproxy::test
