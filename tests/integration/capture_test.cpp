// The capture of intercepted exchanges, checked against what the origin really received and sent:
// the request head as it reached the origin (credentials redacted), the response head and body as
// the origin sent them, a body kept up to its cap and marked truncated with its real length,
// trailers, a rule's own policy, and nothing kept for a tunnel.

#include <gtest/gtest.h>

#include <thread>

#include "proxy/capture/capture_store.hpp"
#include "proxy/capture/redaction.hpp"
#include "proxy/rules/rule_set.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/https_transfer.hpp"
#include "tests/support/mitm_fixture.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxied_websocket.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/tls_websocket.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

constexpr std::uint64_t body_cap = 4096;

class CaptureTest : public MitmFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = mitm_config();
        c.state_dir = state.path().string();
        c.capture.request_body_bytes = body_cap;
        c.capture.response_body_bytes = body_cap;
        return c;
    }
    proxy::CaptureStore& store() {
        auto* captures = proxy().captures();
        if (!captures) throw std::runtime_error("the proxy opened no capture store");
        return *captures;
    }
    // The newest kept exchange whose target is `target`: polls, since an exchange is handed to
    // the store after its response went out.
    std::optional<proxy::CapturedExchange> captured(const std::string& target) {
        for (int i = 0; i < 200; ++i) {
            store().flush();
            for (const auto& listed : store().list({}))
                if (listed.request.target == target) return store().get(listed.flow_id);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return std::nullopt;
    }
    void publish(std::vector<proxy::Rule> rules) {
        auto compiled = proxy::RuleSet::compile(std::move(rules), proxy::ConnectAction::mitm, 2);
        ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const proxy::RuleSet>>(compiled));
        proxy().rules().publish(std::get<std::shared_ptr<const proxy::RuleSet>>(compiled));
    }

    TemporaryDirectory state{"mproxy-capture"};
    TlsOrigin tls_origin{pki().localhost()};
};

std::string serialized(const proxy::RequestHead& head) {
    std::string out;
    proxy::append_head(out, head);
    return out;
}

// The origin's echo of the head it read, with the credential values as the capture stores them.
std::string redacted_echo(std::string echo) {
    for (const auto& name : proxy::default_redacted_fields()) {
        const auto at = echo.find(name + ": ");
        if (at == std::string::npos) continue;
        const auto value_at = at + name.size() + 2;
        const auto end = echo.find("\r\n", value_at);
        echo.replace(value_at, end - value_at,
                     proxy::redacted_value(echo.substr(value_at, end - value_at)));
    }
    return echo;
}

TEST_F(CaptureTest, PlainRequestHeadIsWhatTheOriginReceivedWithCredentialsRedacted) {
    CurlTransfer get;
    get.url(origin.url("/echo-head"));
    get.via_proxy(proxy_port());
    get.header("X-Custom-Case: Mixed Value");
    get.header("Authorization: Bearer secret-token-123");
    get.header("Cookie: session=abc");
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.response_code(), 200);

    const auto exchange = captured("/echo-head");
    ASSERT_TRUE(exchange);
    EXPECT_EQ(exchange->mode, proxy::ConnectionMode::plain);
    EXPECT_EQ(serialized(exchange->request), redacted_echo(get.body_text()));
    EXPECT_EQ(*exchange->request.fields.find("authorization"), "[redacted: 23 bytes]");
    EXPECT_EQ(get.body_text().find("[redacted"), std::string::npos) << "the traffic was redacted";
    // The response as the origin sent it: its own fields, no Via of ours; its body whole (short).
    EXPECT_EQ(exchange->response.status, 200u);
    EXPECT_EQ(exchange->response.fields.find("via"), nullptr);
    EXPECT_EQ(*exchange->response.fields.find("content-type"), "text/plain");
    EXPECT_EQ(exchange->response_body.bytes, get.body_text());
    EXPECT_FALSE(exchange->response_body.truncated());
    EXPECT_EQ(exchange->server_address, "127.0.0.1");
    EXPECT_GE(exchange->timings.connect_us, 0);
    EXPECT_EQ(exchange->timings.tls_us, -1);
    EXPECT_GE(exchange->timings.send_us, 0);
    EXPECT_GE(exchange->timings.wait_us, 0);
    EXPECT_GT(exchange->response_bytes, exchange->response_body.length);
}

TEST_F(CaptureTest, BodiesAreKeptUpToTheCapWithTheirRealLength) {
    constexpr std::uint64_t size = 1 << 20;  // long enough to be spliced once the cap is reached
    CurlTransfer get;
    get.url(origin.url("/bytes/" + std::to_string(size)));
    get.via_proxy(proxy_port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size)) << "the traffic was changed";

    CurlTransfer post;
    post.url(origin.url("/upload"));
    post.via_proxy(proxy_port());
    post.upload(300000, UploadFraming::chunked);
    ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();

    std::string expected(body_cap, '\0');
    fill_payload(0, std::span<char>(expected.data(), expected.size()));
    const auto download = captured("/bytes/" + std::to_string(size));
    ASSERT_TRUE(download);
    EXPECT_TRUE(download->response_body.captured);
    EXPECT_TRUE(download->response_body.truncated());
    EXPECT_EQ(download->response_body.length, size);
    EXPECT_EQ(download->response_body.bytes, expected);

    const auto upload = captured("/upload");
    ASSERT_TRUE(upload);
    EXPECT_EQ(upload->request_body.length, 300000u) << "chunk framing is not payload";
    EXPECT_EQ(upload->request_body.bytes, expected);
    EXPECT_TRUE(upload->request_body.truncated());
}

TEST_F(CaptureTest, HundredMiBEachWayWithAOneMiBCapKeepExactlyTheirFirstMiB) {
    // The sizes: the transfers complete byte for byte, and the capture holds exactly the
    // first MiB of each, truncated, with the real length. (Time is the benchmark's to measure.)
    constexpr std::uint64_t size = 100 << 20, cap = 1 << 20;
    proxy::Rule rule;
    rule.id = "one-mib";
    rule.match.hosts = {"127.0.0.1"};
    rule.action = proxy::ConnectAction::http;
    proxy::CapturePolicy policy;
    policy.request_body_bytes = cap;
    policy.response_body_bytes = cap;
    rule.options.capture = policy;
    publish({rule});
    std::string expected(cap, '\0');
    fill_payload(0, std::span<char>(expected.data(), expected.size()));

    for (const bool inside_connect : {false, true}) {
        SCOPED_TRACE(inside_connect ? "http inside CONNECT" : "plain");
        const std::string suffix = inside_connect ? "?connect" : "?plain";
        CurlTransfer get;
        get.url(origin.url("/bytes/" + std::to_string(size) + suffix));
        get.via_proxy(proxy_port(), inside_connect);
        ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
        EXPECT_EQ(get.body().bytes, size);
        EXPECT_EQ(get.body().hash.hex(), payload_hash_hex(size));

        CurlTransfer post;
        post.url(origin.url("/upload" + suffix));
        post.via_proxy(proxy_port(), inside_connect);
        post.upload(size, UploadFraming::content_length);
        ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
        EXPECT_EQ(post.response_header("X-Received-Bytes"), std::to_string(size));
        EXPECT_EQ(post.response_header("X-Body-Hash"), payload_hash_hex(size));

        const auto download = captured("/bytes/" + std::to_string(size) + suffix);
        ASSERT_TRUE(download);
        EXPECT_EQ(download->response_body.length, size);
        EXPECT_TRUE(download->response_body.truncated());
        EXPECT_TRUE(download->response_body.bytes == expected) << "exactly the first MiB";
        const auto upload = captured("/upload" + suffix);
        ASSERT_TRUE(upload);
        EXPECT_EQ(upload->request_body.length, size);
        EXPECT_TRUE(upload->request_body.truncated());
        EXPECT_TRUE(upload->request_body.bytes == expected) << "exactly the first MiB";
    }
}

TEST_F(CaptureTest, InterceptedTlsExchangeAndItsTrailersAreCaptured) {
    HttpsTransfer get(proxy_ca_file());
    prepare(get, tls_origin.url("/chunked/3000"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.response_code(), 200);

    const auto exchange = captured("/chunked/3000");
    ASSERT_TRUE(exchange);
    EXPECT_EQ(exchange->mode, proxy::ConnectionMode::mitm);
    EXPECT_EQ(exchange->host, "localhost");
    EXPECT_GE(exchange->timings.tls_us, 0) << "a new origin connection has a handshake";
    EXPECT_EQ(exchange->response_body.length, 3000u);
    EXPECT_EQ(exchange->response_body.bytes.size(), 3000u);
    EXPECT_FALSE(exchange->response_body.truncated());
    ASSERT_NE(exchange->response_trailers.find("x-body-hash"), nullptr);
    EXPECT_EQ(*exchange->response_trailers.find("x-body-hash"), payload_hash_hex(3000));
    EXPECT_EQ(*exchange->response.fields.find("transfer-encoding"), "chunked")
        << "the head as received, before hop-by-hop fields go";
}

// The messages of /ws (the origin says "welcome", then echoes), each direction in order.
void expect_echo_session(const proxy::CapturedExchange& e, const std::string& binary) {
    std::vector<const proxy::CapturedWebSocketMessage*> sent, received;
    for (const auto& m : e.websocket.messages) (m.from_client ? sent : received).push_back(&m);
    ASSERT_EQ(sent.size(), 3u);
    ASSERT_EQ(received.size(), 4u);
    EXPECT_EQ(received[0]->payload, "welcome");
    EXPECT_EQ(received[0]->opcode, 1u);
    EXPECT_EQ(sent[0]->payload, "hello") << "unmasked";
    EXPECT_EQ(received[1]->payload, "hello");
    EXPECT_EQ(sent[1]->opcode, 2u);
    EXPECT_EQ(sent[1]->payload, binary);
    EXPECT_EQ(received[2]->payload, binary);
    EXPECT_EQ(sent[2]->opcode, 8u);
    EXPECT_EQ(sent[2]->close_code, 1000u);
    EXPECT_EQ(received[3]->opcode, 8u);
    EXPECT_EQ(e.response.status, 101u);
}

TEST_F(CaptureTest, WebSocketMessagesAreCapturedBothWaysInEveryMode) {
    std::string binary(300, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
    auto session = [&](auto& ws) {
        EXPECT_EQ(ws.receive(), "welcome");
        ws.send("hello");
        EXPECT_EQ(ws.receive(), "hello");
        ws.send(binary, true);
        EXPECT_EQ(ws.receive(), binary);
        ws.close();
    };
    {
        ProxiedWebSocket plain(proxy_port(), origin.authority(), WebSocketRoute::absolute_form);
        session(plain);
    }
    auto plain = captured("/ws");
    ASSERT_TRUE(plain);
    expect_echo_session(*plain, binary);

    {
        TlsWebSocket intercepted("localhost", tls_origin.port(), proxy_ca_file(), proxy_port());
        session(intercepted);
    }
    std::optional<proxy::CapturedExchange> mitm;
    for (int i = 0; i < 200 && !mitm; ++i) {
        store().flush();
        for (const auto& listed : store().list({}))
            if (listed.request.target == "/ws" && listed.port == tls_origin.port())
                mitm = store().get(listed.flow_id);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(mitm);
    expect_echo_session(*mitm, binary);

    proxy::Rule http;
    http.id = "read-cleartext";
    http.match.hosts = {"127.0.0.1"};
    http.action = proxy::ConnectAction::http;
    publish({http});
    const auto before = store().newest_id();
    {
        ProxiedWebSocket inside(proxy_port(), origin.authority(), WebSocketRoute::inside_connect);
        session(inside);
    }
    std::optional<proxy::CapturedExchange> in_connect;
    for (int i = 0; i < 200 && !in_connect; ++i) {
        store().flush();
        for (const auto& listed : store().list({}))
            if (listed.request.target == "/ws" && listed.flow_id > before)
                in_connect = store().get(listed.flow_id);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(in_connect);
    expect_echo_session(*in_connect, binary);
}

TEST_F(CaptureTest, ARulesOwnPolicyReplacesTheDefault) {
    proxy::Rule rule;
    rule.id = "no-redaction";
    rule.match.hosts = {"127.0.0.1"};
    rule.action = proxy::ConnectAction::mitm;
    proxy::CapturePolicy policy;
    policy.redact_fields = std::vector<std::string>{};  // keep credentials
    policy.response_body_bytes = 0;
    rule.options.capture = policy;
    publish({rule});

    CurlTransfer get;
    get.url(origin.url("/echo-head"));
    get.via_proxy(proxy_port());
    get.header("Authorization: Bearer kept");
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    const auto exchange = captured("/echo-head");
    ASSERT_TRUE(exchange);
    EXPECT_EQ(*exchange->request.fields.find("authorization"), "Bearer kept");
    EXPECT_FALSE(exchange->response_body.captured);
    EXPECT_EQ(exchange->response_body.length, get.body_text().size());

    rule.id = "off";
    policy.enabled = false;
    rule.options.capture = policy;
    publish({rule});
    get.url(origin.url("/say/not-kept"));
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    store().flush();
    for (const auto& listed : store().list({})) EXPECT_NE(listed.request.target, "/say/not-kept");
}

TEST_F(CaptureTest, AnEarlyAnswerHasItsPhasesTimed) {
    CurlTransfer post;
    post.url(origin.url("/reject-413"));
    post.via_proxy(proxy_port());
    post.upload(8 << 20, UploadFraming::content_length);
    post.perform();  // curl may see the connection end under its upload: the 413 is what counts
    const auto exchange = captured("/reject-413");
    ASSERT_TRUE(exchange);
    EXPECT_EQ(exchange->response.status, 413u);
    EXPECT_LT(exchange->request_body.length, 8u << 20) << "the origin answered before the end";
    EXPECT_GE(exchange->timings.send_us, 0);
    EXPECT_EQ(exchange->timings.wait_us, 0) << "answered while the request was still being sent";
    EXPECT_GE(exchange->timings.receive_us, 0);
}

TEST_F(CaptureTest, AnUnreachableOriginIsKeptAsMproxysOwnAnswer) {
    CurlTransfer get;
    get.url("http://127.0.0.1:9/nothing-here");
    get.via_proxy(proxy_port());
    ASSERT_EQ(get.perform(), CURLE_OK) << get.error_text();
    ASSERT_EQ(get.response_code(), 502);
    const auto exchange = captured("/nothing-here");
    ASSERT_TRUE(exchange);
    EXPECT_TRUE(exchange->answered_by_proxy);
    EXPECT_EQ(exchange->response.status, 502u);
    EXPECT_FALSE(exchange->error.empty());
}

}  // namespace
}  // namespace mproxy::test
