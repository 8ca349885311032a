// Max-Forwards (RFC 9110 section 7.6.2) through every mode that parses HTTP: OPTIONS and TRACE at 0
// are answered by mproxy as the final recipient and never reach the origin; above 0 they go on
// with one less.

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "tests/support/deadline.hpp"
#include "tests/support/parsing_mode_fixture.hpp"

namespace mproxy::test {
namespace {

std::string origin_answer(const std::string&) {
    return "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\norigin";
}

class MaxForwardsTest : public ParsingModeFixture {
  protected:
    RecordingScriptedOrigin scripted{origin_answer};
    std::string request(const std::string& method, const std::string& path,
                        const std::string& extra) {
        const auto a = scripted.authority();
        return method + " " + target(a, path) + " HTTP/1.1\r\nHost: " + a + "\r\n" + extra + "\r\n";
    }
    // The exchange_done events of the flow log, newest first, once there are `count` (an event
    // follows the response it describes); fewer at the deadline.
    std::vector<proxy::FlowEvent> exchanges_done(std::size_t count,
                                                 Deadline deadline = step_deadline()) {
        for (;;) {
            std::vector<proxy::FlowEvent> out;
            for (const auto& logged : proxy().flows().newest(100, 0, [](const proxy::FlowEvent& e) {
                     return e.kind == proxy::FlowEventKind::exchange_done;
                 }))
                out.push_back(logged->event);
            if (out.size() >= count || Clock::now() > deadline) return out;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
};

TEST_P(MaxForwardsTest, OptionsAtZeroIsAnsweredByTheProxy) {
    auto client = open_to(scripted.authority());
    client.send(request("OPTIONS", "/resource", "Max-Forwards: 0\r\n"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 200);
    ASSERT_TRUE(reply.response->header("Allow")) << reply.response->wire;
    EXPECT_NE(reply.response->header("Allow")->find("OPTIONS"), std::string::npos);
    EXPECT_EQ(reply.response->body, "");
    // The connection goes on: the next request reaches the origin.
    client.send(request("GET", "/after", ""));
    auto after = client.read_response();
    ASSERT_TRUE(after.response) << after.error;
    EXPECT_EQ(after.response->body, "origin");
    const auto heads = scripted.heads();
    ASSERT_EQ(heads.size(), 1u) << "OPTIONS with Max-Forwards: 0 reached the origin";
    EXPECT_TRUE(heads[0].starts_with("GET /after ")) << heads[0];

    std::optional<proxy::FlowEvent> options_done, get_done;
    for (const auto& e : exchanges_done(2)) (e.method == "OPTIONS" ? options_done : get_done) = e;
    ASSERT_TRUE(options_done && get_done);
    EXPECT_TRUE(options_done->answered_by_proxy);
    EXPECT_EQ(options_done->status, 200u);
    EXPECT_FALSE(get_done->answered_by_proxy) << "the GET was answered by the origin";
}

TEST_P(MaxForwardsTest, TraceAtZeroEchoesTheRequestWithoutCredentials) {
    auto client = open_to(scripted.authority());
    client.send(
        request("TRACE", "/t",
                "Max-Forwards: 0\r\nAuthorization: Bearer top-secret\r\n"
                "Proxy-Authorization: Basic cHJveHk6c2VjcmV0\r\nCookie: id=secret-cookie\r\n"
                "X-Probe: 42\r\n"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    const auto& response = *reply.response;
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), "message/http");
    EXPECT_TRUE(response.body.starts_with("TRACE /t HTTP/1.1\r\n")) << response.body;
    EXPECT_NE(response.body.find("\r\nX-Probe: 42\r\n"), std::string::npos) << response.body;
    for (const char* secret : {"top-secret", "cHJveHk6c2VjcmV0", "secret-cookie", "Authorization"})
        EXPECT_EQ(response.wire.find(secret), std::string::npos) << secret << " echoed:\n"
                                                                 << response.wire;
    EXPECT_TRUE(scripted.heads().empty()) << "TRACE with Max-Forwards: 0 reached the origin";
}

TEST_P(MaxForwardsTest, AboveZeroTheOriginSeesOneLess) {
    auto client = open_to(scripted.authority());
    client.send(request("OPTIONS", "/o", "Max-Forwards: 3\r\n"));
    auto options = client.read_response();
    ASSERT_TRUE(options.response) << options.error;
    EXPECT_EQ(options.response->body, "origin");
    client.send(request("TRACE", "/t", "Max-Forwards: 1\r\n"));
    auto trace = client.read_response();
    ASSERT_TRUE(trace.response) << trace.error;
    EXPECT_EQ(trace.response->body, "origin");
    client.send(request("GET", "/g", "Max-Forwards: 0\r\n"));  // other methods: not our business
    auto get = client.read_response();
    ASSERT_TRUE(get.response) << get.error;
    EXPECT_EQ(get.response->body, "origin");

    const auto heads = scripted.heads();
    ASSERT_EQ(heads.size(), 3u);
    EXPECT_NE(heads[0].find("\r\nMax-Forwards: 2\r\n"), std::string::npos) << heads[0];
    EXPECT_NE(heads[1].find("\r\nMax-Forwards: 0\r\n"), std::string::npos) << heads[1];
    EXPECT_NE(heads[2].find("\r\nMax-Forwards: 0\r\n"), std::string::npos) << heads[2];
}

INSTANTIATE_TEST_SUITE_P(Modes, MaxForwardsTest,
                         ::testing::Values(ParsingMode::plain, ParsingMode::http,
                                           ParsingMode::mitm),
                         parsing_mode_name);

class RefusedTraceTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.answer_trace = false;
        return c;
    }
    RecordingScriptedOrigin scripted{origin_answer};
};

TEST_F(RefusedTraceTest, TraceAtZeroGets405WhenConfigurationRefusesIt) {
    auto client = raw_client();
    const auto a = scripted.authority();
    client.send("TRACE http://" + a + "/ HTTP/1.1\r\nHost: " + a +
                "\r\nMax-Forwards: 0\r\nX-Probe: 1\r\n\r\n");
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 405);
    ASSERT_TRUE(reply.response->header("Allow"));
    EXPECT_EQ(reply.response->header("Allow")->find("TRACE"), std::string::npos);
    EXPECT_EQ(reply.response->body.find("X-Probe"), std::string::npos);
    EXPECT_TRUE(scripted.heads().empty());
}

}  // namespace
}  // namespace mproxy::test
