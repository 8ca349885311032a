#include "proxy/http1/max_forwards.hpp"

#include <gtest/gtest.h>

#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {
namespace {

RequestHead request(std::string_view text) {
    auto parsed = parse_request_head(text);
    return std::get<RequestHead>(parsed);
}

TEST(MaxForwards, OnlyOptionsAndTraceCountDown) {
    auto get = request("GET http://h/ HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n");
    EXPECT_EQ(step_max_forwards(get), MaxForwardsStep::forward);
    EXPECT_EQ(*get.fields.find("max-forwards"), "0");
    auto options = request("OPTIONS http://h/ HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(step_max_forwards(options), MaxForwardsStep::forward);
}

TEST(MaxForwards, ZeroIsAnsweredHereAndMoreIsDecrementedInPlace) {
    auto zero = request("TRACE http://h/ HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\n\r\n");
    EXPECT_EQ(step_max_forwards(zero), MaxForwardsStep::answer_here);
    auto three = request(
        "OPTIONS http://h/ HTTP/1.1\r\nHost: h\r\nMax-Forwards: 3\r\nB: 2\r\nmax-forwards: "
        "9\r\n\r\n");
    EXPECT_EQ(step_max_forwards(three), MaxForwardsStep::decremented);
    ASSERT_EQ(three.fields.count("max-forwards"), 1u);
    const auto& all = three.fields.all();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1].name, "Max-Forwards");
    EXPECT_EQ(all[1].value, "2");
    EXPECT_EQ(all[2].name, "B");
}

TEST(MaxForwards, AValueThatIsNoNumberGoesOnUntouched) {
    for (const char* value : {"-1", "two", "1 2", "0x1", "99999999999999999999999"}) {
        auto r = request(std::string("OPTIONS http://h/ HTTP/1.1\r\nHost: h\r\nMax-Forwards: ") +
                         value + "\r\n\r\n");
        EXPECT_EQ(step_max_forwards(r), MaxForwardsStep::forward) << value;
        EXPECT_EQ(*r.fields.find("max-forwards"), value);
    }
}

TEST(MaxForwards, TraceEchoLeavesCredentialsOut) {
    const auto r = request(
        "TRACE /p?q HTTP/1.1\r\nHost: h\r\nAuthorization: Basic c2VjcmV0\r\nProxy-Authorization: "
        "Basic eA==\r\n"
        "Cookie: session=secret\r\nMax-Forwards: 0\r\nX-Probe: 1\r\n\r\n");
    const auto [status, answer] = final_recipient_answer(r, true, false);
    EXPECT_EQ(status, 200u);
    const std::string echo =
        "TRACE /p?q HTTP/1.1\r\nHost: h\r\nMax-Forwards: 0\r\nX-Probe: 1\r\n\r\n";
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_NE(answer.find("\r\nContent-Type: message/http\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\nContent-Length: " + std::to_string(echo.size()) + "\r\n"),
              std::string::npos);
    EXPECT_TRUE(answer.ends_with("\r\n\r\n" + echo)) << answer;
    EXPECT_EQ(answer.find("secret"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("c2VjcmV0"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("Connection: close"), std::string::npos);
}

TEST(MaxForwards, OptionsGetsAllowAndAnEmptyBodyAndARefusedTraceA405) {
    const auto options =
        final_recipient_answer(request("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), true, true).bytes;
    EXPECT_TRUE(options.starts_with("HTTP/1.1 200 OK\r\n")) << options;
    EXPECT_NE(options.find("\r\nAllow: GET, HEAD, POST"), std::string::npos) << options;
    EXPECT_NE(options.find("\r\nContent-Length: 0\r\n"), std::string::npos) << options;
    EXPECT_NE(options.find("\r\nConnection: close\r\n"), std::string::npos) << options;

    const auto [refused_status, refused] =
        final_recipient_answer(request("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n"), false, false);
    EXPECT_EQ(refused_status, 405u);
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << refused;
    const auto allow = refused.substr(refused.find("\r\nAllow: "));
    EXPECT_EQ(allow.substr(0, allow.find("\r\n", 2)).find("TRACE"), std::string::npos) << refused;
}

}  // namespace
}  // namespace mproxy::proxy
