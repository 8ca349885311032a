#include "proxy/capture/exchange_capture.hpp"

#include <gtest/gtest.h>

#include "proxy/capture/capture_pool.hpp"

namespace mproxy::proxy {
namespace {

CaptureStart start(std::uint64_t flow_id) {
    return {.flow_id = flow_id,
            .connection_id = 3,
            .started = std::chrono::system_clock::now(),
            .client = "127.0.0.1:4000",
            .mode = ConnectionMode::mitm,
            .host = "example.com",
            .port = 443};
}

ExchangeOutcome answered_ok() {
    ExchangeOutcome outcome;
    outcome.status = 200;
    return outcome;
}

CapturedExchange decoded(const CaptureRecord& record) {
    CapturedExchange e;
    EXPECT_TRUE(decode_capture_detail(record.detail, e));
    e.request_body.bytes = record.request_body;
    e.response_body.bytes = record.response_body;
    return e;
}

// A capture begun again keeps nothing of the exchange before: not its fields under a policy that
// keeps none, its body, its trailers, its 1xx, nor its address.
TEST(ExchangeCapture, BegunAgainItKeepsNothingOfTheExchangeBefore) {
    CapturePolicy everything;
    everything.response_body_bytes = 1024;
    CapturePolicy lines_only;
    lines_only.headers = false;

    ExchangeCapture capture;
    capture.begin(everything, start(1));
    capture.connected(1200, 300, "192.0.2.7");
    const RequestHead request{.method = "POST", .target = "/a", .version_minor = 1, .fields = {}};
    capture.request_sent(request);
    ResponseHead interim{.version_minor = 1, .status = 103, .reason = "Early Hints", .fields = {}};
    capture.interim_received(interim);
    ResponseHead response{.version_minor = 1, .status = 200, .reason = "OK", .fields = {}};
    response.fields.add("Content-Type", "text/plain");
    response.fields.add("Set-Cookie", "id=42");
    capture.final_received(response);
    capture.response_tap().take("hello");
    capture.response_tap().trailer_lines() = "X-Sum: 1\r\n";
    capture.response_body_relayed(5);
    const auto first = decoded(capture.finish(answered_ok()));
    EXPECT_EQ(first.response.fields.all().size(), 2u);
    EXPECT_EQ(first.response.fields.all()[1].value, "[redacted: 5 bytes]");
    EXPECT_EQ(first.response_body.bytes, "hello");
    EXPECT_EQ(first.response_trailers.all().size(), 1u);
    EXPECT_EQ(first.interim.size(), 1u);
    EXPECT_EQ(first.server_address, "192.0.2.7");

    capture.begin(lines_only, start(2));
    const RequestHead second_request{
        .method = "GET", .target = "/b", .version_minor = 1, .fields = {}};
    capture.request_sent(second_request);
    capture.final_received(response);
    capture.response_tap().take("not kept");
    const auto& record = capture.finish(answered_ok());
    EXPECT_EQ(record.flow_id, 2u);
    const auto second = decoded(record);
    EXPECT_EQ(second.request.target, "/b");
    EXPECT_TRUE(second.response.fields.all().empty());
    EXPECT_TRUE(second.response_trailers.all().empty());
    EXPECT_TRUE(second.interim.empty());
    EXPECT_FALSE(second.response_body.captured);
    EXPECT_TRUE(record.response_body.empty());
    EXPECT_EQ(second.server_address, "");
    EXPECT_EQ(second.timings.connect_us, -1);
}

TEST(CapturePool, ACaptureGivenBackIsTakenAgain) {
    CapturePool pool;
    auto capture = pool.take();
    const auto* first = capture.get();
    pool.give_back(std::move(capture));
    EXPECT_EQ(pool.take().get(), first);
    EXPECT_NE(pool.take().get(), nullptr) << "an empty pool makes a new one";
}

}  // namespace
}  // namespace mproxy::proxy
