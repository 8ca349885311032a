// mproxyd as a service: SIGTERM drains (readiness false at once, no new connections, an upload in
// flight finishes, exit 0), connection limits answer 503 and are counted, a connection's lifetime
// is bounded, and --log-format json writes one JSON object per line.

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/e2e/mproxyd_runner.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> with_state(const TemporaryDirectory& dir, std::vector<std::string> args) {
    auto all = ephemeral_listeners();
    all.insert(all.end(), {"--state-dir", (dir.path() / "state").string()});
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

// grpc.health.v1.Health/Check for `service`, by hand (Debian ships no client stub for it):
// 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN; nullopt when the call fails.
std::optional<int> health(const std::string& target, const std::string& service) {
    grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    std::string request{'\x0a', static_cast<char>(service.size())};
    request += service;
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    std::mutex mutex;
    std::condition_variable done;
    std::optional<grpc::Status> status;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) {
                       std::lock_guard lock(mutex);
                       status = s;
                       done.notify_all();
                   });
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return status.has_value(); });
    if (!status->ok()) return std::nullopt;
    std::vector<grpc::Slice> slices;
    if (!out.Dump(&slices).ok()) return std::nullopt;
    std::string bytes;
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return bytes.size() == 2 && bytes[0] == '\x08' ? std::optional<int>(bytes[1]) : std::nullopt;
}

TEST(MproxydDrain, SigtermLetsAnUploadInFlightFinishWhileNotReady) {
    TemporaryDirectory dir("mproxy-e2e-drain");
    TestOrigin origin;
    RunningMproxyd server(with_state(dir, {"--drain-timeout", "120"}));
    constexpr std::uint64_t size = 1ull << 30;  // 1 GiB
    CURLcode result = CURLE_OK;
    long status = 0;
    CurlTransfer post;
    post.url(origin.url("/upload"));
    post.via_proxy(server.proxy_port());
    post.upload(size, UploadFraming::content_length);
    std::thread uploader([&] {
        result = post.perform();
        status = post.response_code();
    });
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (origin.bytes_read() < 64 * 1024 * 1024 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    ASSERT_GE(origin.bytes_read(), 64u * 1024 * 1024) << "the upload did not start";
    server.process().signal(SIGTERM);
    ASSERT_TRUE(server.wait_for_log("draining")) << server.output();
    EXPECT_EQ(health(server.control(), "mproxy.ready"), 2) << "not ready while draining";
    EXPECT_EQ(health(server.control(), ""), 1) << "alive while draining";
    uploader.join();
    EXPECT_EQ(result, CURLE_OK) << post.error_text();
    EXPECT_EQ(status, 200);
    EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
    const auto exit = server.process().wait(60s);
    ASSERT_TRUE(exit.has_value()) << "mproxyd still running after the upload finished";
    EXPECT_EQ(*exit, 0) << server.output();
    EXPECT_NE(server.output().find("drained: every connection finished"), std::string::npos)
        << server.output();
}

TEST(MproxydDrain, TheDrainTimeoutEndsWhatIsStillOpen) {
    TemporaryDirectory dir("mproxy-e2e-drain");
    TestOrigin origin;
    RunningMproxyd server(with_state(dir, {"--drain-timeout", "1"}));
    EXPECT_EQ(health(server.control(), "mproxy.ready"), 1);
    RawHttpClient tunnel(server.proxy_port());  // a tunnel never ends by itself
    tunnel.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\n\r\n");
    auto established = tunnel.read_connect_reply();
    ASSERT_TRUE(established.response && established.response->status == 200) << established.error;
    server.process().signal(SIGTERM);
    const auto exit = server.process().wait(30s);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(*exit, 0);
    EXPECT_NE(server.output().find("drain timeout reached"), std::string::npos) << server.output();
    EXPECT_EQ(tunnel.wait_closed(), ReadStatus::eof);
}

TEST(MproxydLimits, OverALimitNewConnectionsGet503AndACounterRises) {
    TemporaryDirectory dir("mproxy-e2e-limits");
    TestOrigin origin;
    RunningMproxyd server(with_state(dir, {"--max-connections-per-client", "1"}));
    RawHttpClient first(server.proxy_port());
    first.send(absolute_get(origin.authority(), "/bytes/10"));
    auto ok = first.read_response();
    ASSERT_TRUE(ok.response) << ok.error;
    EXPECT_EQ(ok.response->status, 200);

    RawHttpClient second(server.proxy_port());  // the first is still open
    auto refused = second.read_response();
    ASSERT_TRUE(refused.response) << refused.error;
    EXPECT_EQ(refused.response->status, 503);
    EXPECT_NE(refused.response->body.find("--max-connections-per-client"), std::string::npos);
    const auto scrape = MetricsScrape::fetch(server.metrics_port());
    EXPECT_EQ(
        scrape.value("mproxy_connections_refused_total", {{"limit", "max_connections_per_client"}}),
        1.0);
    EXPECT_EQ(scrape.value("mproxy_connections_refused_total", {{"limit", "max_connections"}}),
              0.0);
}

TEST(MproxydLimits, AConnectionIsClosedAtTheEndOfItsLifetime) {
    TemporaryDirectory dir("mproxy-e2e-limits");
    TestOrigin origin;
    RunningMproxyd server(with_state(dir, {"--max-connection-lifetime", "0.3"}));
    RawHttpClient tunnel(server.proxy_port());
    tunnel.send("CONNECT " + origin.authority() + " HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\n\r\n");
    auto established = tunnel.read_connect_reply();
    ASSERT_TRUE(established.response && established.response->status == 200) << established.error;
    EXPECT_NE(tunnel.wait_closed(), ReadStatus::timeout);
    ASSERT_TRUE(server.wait_for_log("reached the connection lifetime limit")) << server.output();
    const auto scrape = MetricsScrape::fetch(server.metrics_port());
    EXPECT_EQ(scrape.value("mproxy_connections_lifetime_closed_total"), 1.0);
}

TEST(MproxydLogs, JsonLogsAreOneObjectPerLine) {
    TemporaryDirectory dir("mproxy-e2e-logs");
    TestOrigin origin;
    RunningMproxyd server(with_state(dir, {"--log-format", "json"}));
    RawHttpClient client(server.proxy_port());
    client.send(absolute_get(origin.authority(), "/bytes/10"));
    ASSERT_TRUE(client.read_response().response);
    ASSERT_TRUE(server.wait_for_log("/bytes/10")) << server.output();
    std::istringstream lines(server.output());
    std::string line;
    std::size_t objects = 0;
    while (std::getline(lines, line)) {
        const auto object = nlohmann::json::parse(line, nullptr, false);
        ASSERT_TRUE(object.is_object()) << "not a JSON object: " << line;
        EXPECT_TRUE(object.contains("time") && object.contains("level") &&
                    object.contains("message"))
            << line;
        ++objects;
    }
    EXPECT_GE(objects, 5u);
}

}  // namespace
}  // namespace mproxy::test
