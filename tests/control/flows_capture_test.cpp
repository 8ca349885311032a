// The capture store read over gRPC with real curl traffic: GetFlow with the exchange whole,
// ListFlows reaching back past the in-memory log and across a restart, GetFlowBody decoding each
// content coding (and stopping a decompression bomb at its bound), and ExportHar's document
// agreeing with GetFlow.

#include <gtest/gtest.h>

#include <google/protobuf/util/time_util.h>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "proxy/capture/capture_store.hpp"
#include "tests/control/flows_fixture.hpp"
#include "tests/support/compression.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxied_websocket.hpp"
#include "tests/support/recording_origin.hpp"

namespace mproxy::test {
namespace {

using google::protobuf::util::TimeUtil;

constexpr std::uint64_t body_cap = 1 << 20;

class FlowsCaptureTest : public FlowsServiceTest {
  protected:
    proxy::ProxyConfig config() override {
        auto c = FlowsServiceTest::config();
        c.capture.request_body_bytes = body_cap;
        c.capture.response_body_bytes = body_cap;
        if (!redact) c.capture.redact_fields = std::vector<std::string>{};
        return c;
    }
    bool redact = true;  // the default redaction of credentials; off: restart() to apply

    // GETs `url` through the proxy with curl; the response body as received.
    std::string get(const std::string& url, const std::vector<std::string>& headers = {}) {
        CurlTransfer transfer;
        transfer.via_proxy(proxy_port());
        for (const auto& h : headers) transfer.header(h);
        transfer.url(url);
        EXPECT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        return transfer.body_text();
    }

    // The newest stored flow whose path is `path` (polls: the store commits in batches).
    v1::Flow stored_flow(const std::string& path) {
        for (int i = 0; i < 200; ++i) {
            if (auto* store = proxy().captures()) store->flush();
            v1::ListFlowsRequest request;
            request.set_page_size(1000);
            v1::ListFlowsResponse response;
            EXPECT_TRUE(flows->ListFlows(call().get(), request, &response).ok());
            for (const auto& flow : response.flows())
                if (flow.path() == path && flow.capture_state() == v1::CAPTURE_STATE_STORED) {
                    v1::GetFlowRequest get;
                    get.set_flow_id(flow.flow_id());
                    v1::Flow whole;
                    EXPECT_TRUE(flows->GetFlow(call().get(), get, &whole).ok());
                    return whole;
                }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ADD_FAILURE() << path << " was never stored";
        return {};
    }

    struct Body {
        grpc::Status status;
        v1::CapturedBodyInfo info;
        std::string data;
        bool complete = false, last = false;
        int messages = 0;
    };
    Body body(std::uint64_t flow_id, bool decode, v1::BodyDirection direction = {},
              std::uint64_t max_decoded = 0) {
        v1::GetFlowBodyRequest request;
        request.set_flow_id(flow_id);
        request.set_direction(direction);
        request.set_decode(decode);
        request.set_max_decoded_bytes(max_decoded);
        auto context = call();
        context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        auto reader = flows->GetFlowBody(context.get(), request);
        Body out;
        v1::FlowBodyChunk chunk;
        while (reader->Read(&chunk)) {
            if (out.messages++ == 0) out.info = chunk.info();
            EXPECT_FALSE(out.last) << "a message after the last";
            EXPECT_LE(chunk.data().size(), 64u << 10) << "bodies come in bounded pieces";
            out.data += chunk.data();
            out.last = chunk.last();
            out.complete = chunk.complete();
        }
        out.status = reader->Finish();
        return out;
    }

    static std::string response_with(const std::string& head_fields, const std::string& body) {
        return "HTTP/1.1 200 OK\r\n" + head_fields +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
};

const v1::HttpField* field(const google::protobuf::RepeatedPtrField<v1::HttpField>& fields,
                           std::string_view name) {
    for (const auto& f : fields)
        if (f.name() == name) return &f;
    return nullptr;
}

TEST_F(FlowsCaptureTest, GetFlowHasTheExchangeWholeAsTheStoreKeepsIt) {
    const auto text = get(origin.url("/say/hello"), {"X-Trace: 42", "Authorization: Bearer abc"});
    ASSERT_EQ(text, "hello");
    const auto flow = stored_flow("/say/hello");
    ASSERT_TRUE(flow.has_capture()) << flow.ShortDebugString();
    EXPECT_EQ(flow.capture_state(), v1::CAPTURE_STATE_STORED);
    const auto& c = flow.capture();
    EXPECT_EQ(c.request().method(), "GET");
    EXPECT_EQ(c.request().target(), "/say/hello");
    EXPECT_EQ(c.request().version(), "HTTP/1.1");
    ASSERT_NE(field(c.request().fields(), "X-Trace"), nullptr);
    EXPECT_EQ(field(c.request().fields(), "X-Trace")->value(), "42");
    ASSERT_NE(field(c.request().fields(), "Authorization"), nullptr);
    EXPECT_EQ(field(c.request().fields(), "Authorization")->value(), "[redacted: 10 bytes]");
    EXPECT_EQ(c.response().status(), 200u);
    EXPECT_EQ(c.response_body().state(), v1::BODY_STATE_COMPLETE);
    EXPECT_EQ(c.response_body().length(), 5u);
    EXPECT_EQ(c.response_body().captured(), 5u);
    EXPECT_EQ(c.request_body().state(), v1::BODY_STATE_EMPTY);
    EXPECT_EQ(c.server_address(), "127.0.0.1");
    EXPECT_TRUE(c.fields_captured());
    EXPECT_GE(c.timings().connect_us(), 0) << "a new connection to the origin";
    EXPECT_EQ(c.timings().tls_us(), -1) << "no TLS to a plain origin";
    EXPECT_GE(c.timings().wait_us(), 0);
    EXPECT_EQ(flow.done().status(), 200u);
    EXPECT_GT(flow.events_size(), 0) << "the log still holds its events";

    const auto b = body(flow.flow_id(), true);
    ASSERT_TRUE(b.status.ok()) << b.status.error_message();
    EXPECT_EQ(b.data, "hello");
    EXPECT_TRUE(b.complete);
    EXPECT_TRUE(b.last);
}

TEST_F(FlowsCaptureTest, ListFlowsReachesBackAcrossARestartAndByTime) {
    const auto before_all = std::chrono::system_clock::now();
    get(origin.url("/say/one"));
    get(origin.url("/say/two"));
    const auto first_id = stored_flow("/say/two").flow_id();
    ASSERT_NE(first_id, 0u);
    const auto between = std::chrono::system_clock::now();

    restart();  // a new process life: an empty flow log, the same store
    get(origin.url("/say/three"));
    const auto third = stored_flow("/say/three");
    EXPECT_GT(third.flow_id(), first_id) << "flow ids go on across restarts";

    v1::ListFlowsRequest request;
    request.set_page_size(2);
    std::vector<std::string> paths;
    std::string token;
    do {
        request.set_page_token(token);
        v1::ListFlowsResponse response;
        ASSERT_TRUE(flows->ListFlows(call().get(), request, &response).ok());
        for (const auto& f : response.flows()) {
            paths.push_back(f.path());
            EXPECT_EQ(f.capture_state(), v1::CAPTURE_STATE_STORED);
            EXPECT_EQ(f.done().status(), 200u);
        }
        token = response.next_page_token();
    } while (!token.empty());
    EXPECT_EQ(paths, (std::vector<std::string>{"/say/three", "/say/two", "/say/one"}));

    v1::ListFlowsRequest early;
    *early.mutable_since() = TimeUtil::MicrosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::microseconds>(before_all.time_since_epoch())
            .count());
    *early.mutable_until() = TimeUtil::MicrosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::microseconds>(between.time_since_epoch()).count());
    v1::ListFlowsResponse window;
    ASSERT_TRUE(flows->ListFlows(call().get(), early, &window).ok());
    ASSERT_EQ(window.flows_size(), 2);
    EXPECT_EQ(window.flows(0).path(), "/say/two");
    EXPECT_EQ(window.flows(1).path(), "/say/one");

    v1::GetFlowRequest old;
    old.set_flow_id(first_id);
    v1::Flow from_before;
    const auto status = flows->GetFlow(call().get(), old, &from_before);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(from_before.path(), "/say/two");
    EXPECT_EQ(from_before.events_size(), 0) << "its events went with the old process";
    EXPECT_TRUE(from_before.has_capture());
}

TEST_F(FlowsCaptureTest, GetFlowBodyUndoesEachContentCoding) {
    std::string text;
    for (int i = 0; i < 5000; ++i)
        text += "line " + std::to_string(i) + " of a compressible body\n";
    const std::vector<std::pair<std::string, std::string>> codings = {
        {"gzip", gzip_encode(text)},
        {"deflate", deflate_encode(text)},
        {"br", brotli_encode(text)},
        {"zstd", zstd_encode(text)},
        {"gzip, zstd", zstd_encode(gzip_encode(text))},
    };
    for (const auto& [coding, coded] : codings) {
        SCOPED_TRACE(coding);
        RecordingOrigin coded_origin(response_with(
            "Content-Type: text/plain\r\nContent-Encoding: " + coding + "\r\n", coded));
        const auto path = "/coded/" + std::to_string(coded.size());
        get("http://" + coded_origin.authority() + path);
        const auto flow = stored_flow(path);
        ASSERT_TRUE(flow.has_capture());
        EXPECT_EQ(flow.capture().response_body().content_encoding(), coding);

        const auto decoded = body(flow.flow_id(), true);
        ASSERT_TRUE(decoded.status.ok()) << decoded.status.error_message();
        EXPECT_EQ(decoded.data.size(), text.size());
        EXPECT_TRUE(decoded.data == text);
        EXPECT_TRUE(decoded.complete);
        EXPECT_GT(decoded.messages, 1) << "streamed in chunks";

        const auto raw = body(flow.flow_id(), false);
        ASSERT_TRUE(raw.status.ok());
        EXPECT_TRUE(raw.data == coded) << "raw: the bytes as the origin sent them";
        EXPECT_EQ(raw.info.state(), v1::BODY_STATE_COMPLETE);
        EXPECT_EQ(raw.info.content_type(), "text/plain");
    }
}

TEST_F(FlowsCaptureTest, ADecompressionBombStopsAtTheBoundWithAClearMessage) {
    // 10 GiB when decoded, 320 KiB as sent: kept whole under the 1 MiB cap.
    const auto bomb = zstd_zero_bomb(std::uint64_t{10} << 30);
    RecordingOrigin bombing(response_with(
        "Content-Type: application/octet-stream\r\nContent-Encoding: zstd\r\n", bomb));
    get("http://" + bombing.authority() + "/bomb");
    const auto flow = stored_flow("/bomb");
    EXPECT_EQ(flow.capture().response_body().state(), v1::BODY_STATE_COMPLETE);

    const auto small = body(flow.flow_id(), true, {}, 4 << 20);
    EXPECT_EQ(small.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(small.status.error_message().find("max_decoded_bytes (4194304 bytes)"),
              std::string::npos)
        << small.status.error_message();
    EXPECT_NE(small.status.error_message().find("decompression bomb"), std::string::npos);
    EXPECT_EQ(small.data.size(), std::size_t{4} << 20) << "everything up to the bound was sent";
    EXPECT_FALSE(small.last);

    const auto by_default = body(flow.flow_id(), true);
    EXPECT_EQ(by_default.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(by_default.data.size(), std::size_t{64} << 20) << "the default bound: 64 MiB";

    const auto raw = body(flow.flow_id(), false);
    ASSERT_TRUE(raw.status.ok());
    EXPECT_EQ(raw.data.size(), bomb.size());
}

TEST_F(FlowsCaptureTest, GetFlowBodyRefusalsSayWhy) {
    auto expect_refused = [&](const Body& b, grpc::StatusCode code, std::string_view words) {
        EXPECT_EQ(b.status.error_code(), code) << b.status.error_message();
        EXPECT_NE(b.status.error_message().find(words), std::string::npos)
            << b.status.error_message();
    };
    expect_refused(body(0, false), grpc::StatusCode::INVALID_ARGUMENT, "flow_id");
    expect_refused(body(987654321, false), grpc::StatusCode::NOT_FOUND, "flow 987654321");
    expect_refused(body(1, true, {}, std::uint64_t{2} << 30), grpc::StatusCode::INVALID_ARGUMENT,
                   "max_decoded_bytes");

    RecordingOrigin odd(response_with("Content-Encoding: compress\r\n", "LZW?"));
    get("http://" + odd.authority() + "/odd");
    const auto flow = stored_flow("/odd");
    expect_refused(body(flow.flow_id(), true), grpc::StatusCode::FAILED_PRECONDITION,
                   "\"compress\"");
    const auto raw = body(flow.flow_id(), false);
    EXPECT_TRUE(raw.status.ok());
    EXPECT_EQ(raw.data, "LZW?");

    RecordingOrigin corrupt(response_with("Content-Encoding: gzip\r\n", std::string(3000, 'x')));
    get("http://" + corrupt.authority() + "/corrupt");
    expect_refused(body(stored_flow("/corrupt").flow_id(), true), grpc::StatusCode::DATA_LOSS,
                   "gzip");

    // A gzip stream cut short by the origin, the body captured whole: decoded, but not complete,
    // and the HAR says so.
    std::string text(20000, 'z');
    for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i * 7 % 26);
    const auto whole = gzip_encode(text);
    RecordingOrigin cut(response_with("Content-Encoding: gzip\r\n", whole.substr(0, whole.size() / 2)));
    get("http://" + cut.authority() + "/cut-short");
    const auto cut_flow = stored_flow("/cut-short");
    const auto partial = body(cut_flow.flow_id(), true);
    ASSERT_TRUE(partial.status.ok()) << partial.status.error_message();
    EXPECT_EQ(partial.info.state(), v1::BODY_STATE_COMPLETE);
    EXPECT_FALSE(partial.complete) << "what decoded is not the whole body";
    EXPECT_GT(partial.data.size(), 0u);
    v1::ExportHarRequest har_request;
    har_request.mutable_filter()->set_connection_id(cut_flow.connection_id());
    auto har_context = call();
    auto har_reader = flows->ExportHar(har_context.get(), har_request);
    std::string document;
    v1::HarChunk chunk;
    while (har_reader->Read(&chunk)) document += chunk.data();
    ASSERT_TRUE(har_reader->Finish().ok());
    EXPECT_NE(document.find("coding ends early"), std::string::npos) << document.substr(0, 3000);

    // A GET has no request body: one message saying so.
    const auto none = body(flow.flow_id(), true, v1::BODY_DIRECTION_REQUEST);
    ASSERT_TRUE(none.status.ok()) << none.status.error_message();
    EXPECT_EQ(none.info.state(), v1::BODY_STATE_EMPTY);
    EXPECT_TRUE(none.data.empty());
    EXPECT_TRUE(none.last);

    auto unauthenticated = call("");
    v1::GetFlowBodyRequest request;
    request.set_flow_id(flow.flow_id());
    auto reader = flows->GetFlowBody(unauthenticated.get(), request);
    v1::FlowBodyChunk body_chunk;
    EXPECT_FALSE(reader->Read(&body_chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(FlowsCaptureTest, ExportHarGivesEveryStoredExchangeAsGetFlowHasIt) {
    redact = false;  // cookies kept, to be exported as HAR's cookie lists
    restart();
    const std::string json_body = R"({"answer":42,"text":"caf\u00e9"})";
    RecordingOrigin gz(response_with(
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\nSet-Cookie: s=1; Path=/; "
        "HttpOnly\r\n",
        gzip_encode(json_body)));
    get("http://" + gz.authority() + "/api/thing?x=1&y=two", {"Cookie: a=b"});
    std::string binary(300, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i);
    RecordingOrigin bin(response_with("Content-Type: application/octet-stream\r\n", binary));
    get("http://" + bin.authority() + "/blob");
    const auto json_flow = stored_flow("/api/thing?x=1&y=two");
    const auto blob_flow = stored_flow("/blob");

    v1::ExportHarRequest request;
    auto context = call();
    auto reader = flows->ExportHar(context.get(), request);
    std::string document;
    v1::HarChunk chunk;
    while (reader->Read(&chunk)) document += chunk.data();
    const auto status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();

    // Not const: a missing member reads as null (and fails the comparison) instead of being UB.
    auto har = nlohmann::json::parse(document);
    EXPECT_EQ(har["log"]["version"], "1.2");
    EXPECT_EQ(har["log"]["creator"]["name"], "mproxy");
    auto& entries = har["log"]["entries"];
    ASSERT_EQ(entries.size(), 2u) << document.substr(0, 2000);
    // Oldest first.
    auto& e0 = entries[0];
    EXPECT_EQ(e0["_flowId"], json_flow.flow_id());
    EXPECT_EQ(e0["request"]["method"], "GET");
    EXPECT_EQ(e0["request"]["url"], "http://" + gz.authority() + "/api/thing?x=1&y=two");
    EXPECT_EQ(e0["request"]["queryString"][1]["name"], "y");
    EXPECT_EQ(e0["request"]["queryString"][1]["value"], "two");
    EXPECT_EQ(e0["request"]["cookies"][0]["name"], "a");
    ASSERT_EQ(e0["request"]["headers"].size(),
              static_cast<std::size_t>(json_flow.capture().request().fields_size()));
    for (int i = 0; i < json_flow.capture().request().fields_size(); ++i) {
        EXPECT_EQ(e0["request"]["headers"][i]["name"],
                  json_flow.capture().request().fields(i).name());
        EXPECT_EQ(e0["request"]["headers"][i]["value"],
                  json_flow.capture().request().fields(i).value());
    }
    EXPECT_EQ(e0["response"]["status"], 200);
    EXPECT_EQ(e0["response"]["content"]["text"], json_body) << "decoded, as HAR has it";
    EXPECT_EQ(e0["response"]["content"]["size"], json_body.size());
    EXPECT_EQ(e0["response"]["content"]["mimeType"], "application/json");
    EXPECT_EQ(e0["response"]["bodySize"], json_flow.capture().response_body().length());
    EXPECT_EQ(e0["response"]["cookies"][0]["name"], "s");
    EXPECT_EQ(e0["response"]["cookies"][0]["httpOnly"], true);
    EXPECT_EQ(e0["serverIPAddress"], "127.0.0.1");
    EXPECT_EQ(e0["connection"], std::to_string(json_flow.connection_id()));
    const auto& t = json_flow.capture().timings();
    EXPECT_DOUBLE_EQ(e0["timings"]["send"].get<double>(), t.send_us() / 1000.0);
    EXPECT_DOUBLE_EQ(e0["timings"]["wait"].get<double>(), t.wait_us() / 1000.0);
    EXPECT_DOUBLE_EQ(e0["timings"]["connect"].get<double>(), t.connect_us() / 1000.0);
    EXPECT_DOUBLE_EQ(e0["timings"]["ssl"].get<double>(), -1);
    EXPECT_NEAR(e0["time"].get<double>(),
                (t.connect_us() + t.send_us() + t.wait_us() + t.receive_us()) / 1000.0, 1e-6);

    auto& e1 = entries[1];
    EXPECT_EQ(e1["_flowId"], blob_flow.flow_id());
    EXPECT_EQ(e1["response"]["content"]["encoding"], "base64");
    EXPECT_EQ(e1["response"]["content"]["size"], 300);

    // A filter narrows it.
    v1::ExportHarRequest only_blob;
    only_blob.mutable_filter()->set_client_cidr("10.0.0.0/8");
    auto none_context = call();
    auto none_reader = flows->ExportHar(none_context.get(), only_blob);
    document.clear();
    while (none_reader->Read(&chunk)) document += chunk.data();
    ASSERT_TRUE(none_reader->Finish().ok());
    EXPECT_EQ(nlohmann::json::parse(document)["log"]["entries"].size(), 0u);

    v1::ExportHarRequest bad;
    bad.mutable_filter()->set_client_cidr("not a network");
    auto bad_context = call();
    auto bad_reader = flows->ExportHar(bad_context.get(), bad);
    EXPECT_FALSE(bad_reader->Read(&chunk));
    const auto refused = bad_reader->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("filter.client_cidr"), std::string::npos);
}

TEST_F(FlowsCaptureTest, WebSocketMessagesComeWithGetFlowAndInTheHar) {
    {
        ProxiedWebSocket ws(proxy_port(), origin.authority(), WebSocketRoute::absolute_form);
        EXPECT_EQ(ws.receive(), "welcome");
        ws.send("ping me");
        EXPECT_EQ(ws.receive(), "ping me");
        ws.close();
    }
    const auto flow = stored_flow("/ws");
    const auto& messages = flow.capture().websocket_messages();
    ASSERT_GE(messages.size(), 5);  // welcome, ping me (both ways), close (both ways)
    EXPECT_FALSE(messages[0].from_client());
    EXPECT_EQ(messages[0].payload(), "welcome");
    EXPECT_EQ(messages[0].opcode(), 1u);
    int closes = 0;
    for (const auto& m : messages) closes += m.opcode() == 8 ? 1 : 0;
    EXPECT_EQ(closes, 2);

    v1::ExportHarRequest request;
    request.mutable_filter()->set_connection_id(flow.connection_id());
    auto context = call();
    auto reader = flows->ExportHar(context.get(), request);
    std::string document;
    v1::HarChunk chunk;
    while (reader->Read(&chunk)) document += chunk.data();
    ASSERT_TRUE(reader->Finish().ok());
    auto har = nlohmann::json::parse(document);
    auto& entries = har["log"]["entries"];
    ASSERT_EQ(entries.size(), 1u);
    auto& exported = entries[0]["_webSocketMessages"];
    ASSERT_EQ(exported.size(), static_cast<std::size_t>(messages.size()));
    EXPECT_EQ(exported[0]["type"], "receive");
    EXPECT_EQ(exported[0]["opcode"], 1);
    EXPECT_EQ(exported[0]["data"], "welcome");
    for (std::size_t i = 0; i < exported.size(); ++i)
        EXPECT_EQ(exported[i]["type"], messages[static_cast<int>(i)].from_client() ? "send" : "receive");
    EXPECT_EQ(entries[0]["response"]["status"], 101);
}

// A watch with include_headers from the current end of the log, returned once caught up.
Watch detailed_watch(FlowsServiceTest& test, std::function<Watch(const v1::WatchFlowsRequest&)> open,
                     std::uint64_t from) {
    v1::WatchFlowsRequest request;
    request.set_include_headers(true);
    request.set_since_sequence(from);
    auto w = open(request);
    Item item;
    while (w.next(item))
        if (item.caught_up()) break;
    (void)test;
    return w;
}

TEST_F(FlowsCaptureTest, WatchWithIncludeHeadersCarriesFieldsAndTheLightStreamDoesNot) {
    auto light = watch_from_now();
    auto detailed = detailed_watch(
        *this, [&](const v1::WatchFlowsRequest& r) { return watch(r); },
        proxy().flows().last_sequence());
    EXPECT_TRUE(proxy().flows().wants_details());

    get(origin.url("/say/fields"), {"X-Trace: 7"});
    const auto done = [](const v1::FlowEvent& e) { return e.has_exchange_done(); };
    const auto with = read_events(detailed, done);
    const auto without = read_events(light, done);

    const v1::FlowEvent* request_head = nullptr;
    const v1::FlowEvent* response_head = nullptr;
    for (const auto& e : with) {
        if (e.has_request_head()) request_head = &e;
        if (e.has_response_head()) response_head = &e;
    }
    ASSERT_NE(request_head, nullptr);
    ASSERT_NE(response_head, nullptr);
    ASSERT_NE(field(request_head->fields(), "X-Trace"), nullptr) << request_head->ShortDebugString();
    EXPECT_EQ(field(request_head->fields(), "X-Trace")->value(), "7");
    EXPECT_NE(field(response_head->fields(), "Content-Length"), nullptr)
        << response_head->ShortDebugString();
    EXPECT_EQ(request_head->request_head().path(), "/say/fields") << "the light fields too";
    for (const auto& e : without) EXPECT_EQ(e.fields_size(), 0) << e.ShortDebugString();
    EXPECT_EQ(with.size(), without.size()) << "the same events, only heavier";

    detailed.context->TryCancel();
    Item item;
    while (detailed.next(item)) {
    }
    detailed.reader->Finish();
    for (int i = 0; i < 200 && proxy().flows().wants_details(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_FALSE(proxy().flows().wants_details()) << "fields are copied only while wanted";
}

TEST_F(FlowsCaptureTest, WebSocketMessagesComeAsEventsOfTheirOwn) {
    auto light = watch_from_now();
    auto detailed = detailed_watch(
        *this, [&](const v1::WatchFlowsRequest& r) { return watch(r); },
        proxy().flows().last_sequence());
    {
        ProxiedWebSocket ws(proxy_port(), origin.authority(), WebSocketRoute::absolute_form);
        EXPECT_EQ(ws.receive(), "welcome");
        ws.send("over the wire");
        EXPECT_EQ(ws.receive(), "over the wire");
        ws.close();
    }
    const auto done = [](const v1::FlowEvent& e) { return e.has_exchange_done(); };
    std::vector<const v1::FlowEvent*> messages;
    const auto with = read_events(detailed, done);
    for (const auto& e : with)
        if (e.has_websocket_message()) messages.push_back(&e);
    ASSERT_GE(messages.size(), 3u);
    EXPECT_FALSE(messages[0]->websocket_message().from_client());
    EXPECT_EQ(messages[0]->websocket_message().opcode(), 1u);
    EXPECT_EQ(messages[0]->websocket_message().length(), 7u);
    EXPECT_EQ(messages[0]->payload(), "welcome");
    EXPECT_TRUE(messages[1]->websocket_message().from_client());
    EXPECT_EQ(messages[1]->payload(), "over the wire");
    EXPECT_EQ(messages[1]->path(), "/ws");

    std::size_t light_messages = 0;
    for (const auto& e : read_events(light, done))
        if (e.has_websocket_message()) {
            ++light_messages;
            EXPECT_TRUE(e.payload().empty());
        }
    EXPECT_EQ(light_messages, messages.size()) << "the light stream has them too, without bytes";
}

}  // namespace
}  // namespace mproxy::test
