// FlowsService.ListFlows and GetFlow over a real gRPC channel, with real curl traffic: pages newest
// first, one exchange's events gathered, and the token required on every call.

#include <gtest/gtest.h>

#include "tests/control/flows_fixture.hpp"

namespace mproxy::test {
namespace {

TEST_F(FlowsServiceTest, ListFlowsPagesNewestFirst) {
    {
        CurlTransfer transfer;  // one keep-alive connection, five exchanges
        transfer.via_proxy(proxy_port());
        for (int n = 1; n <= 5; ++n) {
            transfer.url(origin.url("/bytes/" + std::to_string(n)));
            ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        }
    }
    ASSERT_TRUE(wait_for_no_connections()) << "every exchange_done is in the log";
    std::vector<std::string> paths;
    std::string token;
    int pages = 0;
    do {
        v1::ListFlowsRequest request;
        request.set_page_size(2);
        request.set_page_token(token);
        v1::ListFlowsResponse response;
        const auto status = flows->ListFlows(call().get(), request, &response);
        ASSERT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(response.log_id(), control().context().log_id);
        EXPECT_LE(response.flows_size(), 2);
        for (const auto& flow : response.flows()) {
            paths.push_back(flow.path());
            EXPECT_EQ(flow.method(), "GET");
            EXPECT_EQ(flow.host(), "127.0.0.1");
            EXPECT_EQ(flow.port(), origin.port());
            EXPECT_EQ(flow.mode(), v1::CONNECTION_MODE_PLAIN);
            EXPECT_EQ(flow.done().status(), 200u);
            EXPECT_NE(flow.flow_id(), 0u);
            EXPECT_GT(flow.started().seconds(), 0);
            EXPECT_EQ(flow.events_size(), 0) << "events are GetFlow's";
        }
        token = response.next_page_token();
        ASSERT_LT(++pages, 10);
    } while (!token.empty());
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(paths, (std::vector<std::string>{"/bytes/5", "/bytes/4", "/bytes/3", "/bytes/2",
                                               "/bytes/1"}));

    v1::ListFlowsRequest filtered;
    filtered.mutable_filter()->set_host_glob("*.example.com");
    v1::ListFlowsResponse none;
    ASSERT_TRUE(flows->ListFlows(call().get(), filtered, &none).ok());
    EXPECT_EQ(none.flows_size(), 0);

    v1::ListFlowsRequest bad_token;
    bad_token.set_page_token("twelve");
    v1::ListFlowsResponse ignored;
    const auto status = flows->ListFlows(call().get(), bad_token, &ignored);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("page_token"), std::string::npos)
        << status.error_message();
}

TEST_F(FlowsServiceTest, GetFlowGathersTheEventsOfOneExchange) {
    upload(32 * 1024, true);
    ASSERT_TRUE(wait_for_no_connections()) << "every event of the exchange is in the log";
    v1::ListFlowsRequest request;
    request.mutable_filter()->add_methods("POST");
    v1::ListFlowsResponse listed;
    ASSERT_TRUE(flows->ListFlows(call().get(), request, &listed).ok());
    ASSERT_EQ(listed.flows_size(), 1);

    v1::GetFlowRequest get_request;
    get_request.set_flow_id(listed.flows(0).flow_id());
    v1::Flow flow;
    const auto status = flows->GetFlow(call().get(), get_request, &flow);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(flow.flow_id(), get_request.flow_id());
    EXPECT_EQ(flow.method(), "POST");
    EXPECT_EQ(flow.path(), "/upload");
    EXPECT_EQ(flow.host(), "127.0.0.1");
    EXPECT_EQ(flow.interim_responses(), 1u);
    EXPECT_EQ(flow.done().status(), 200u);
    EXPECT_GT(flow.done().request_bytes(), 32u * 1024);
    EXPECT_EQ(flow.done().response_bytes(), listed.flows(0).done().response_bytes());
    ASSERT_EQ(flow.events_size(), 4);
    EXPECT_TRUE(flow.events(0).has_request_head());
    EXPECT_TRUE(flow.events(1).has_interim_response());
    EXPECT_TRUE(flow.events(2).has_response_head());
    EXPECT_TRUE(flow.events(3).has_exchange_done());
    EXPECT_LT(flow.events(0).sequence(), flow.events(3).sequence());
    EXPECT_EQ(flow.started().seconds(), flow.events(0).time().seconds());
    EXPECT_EQ(flow.started().nanos(), flow.events(0).time().nanos());

    v1::GetFlowRequest unknown;
    unknown.set_flow_id(flow.flow_id() + 1000);
    v1::Flow none;
    EXPECT_EQ(flows->GetFlow(call().get(), unknown, &none).error_code(),
              grpc::StatusCode::NOT_FOUND);
}

TEST_F(FlowsServiceTest, EveryCallNeedsTheToken) {
    v1::WatchFlowsRequest request;
    auto w = watch(request, "");
    v1::WatchFlowsResponse response;
    EXPECT_FALSE(w.reader->Read(&response));
    EXPECT_EQ(w.reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);

    v1::ListFlowsResponse listed;
    EXPECT_EQ(flows->ListFlows(call("").get(), {}, &listed).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::Flow flow;
    EXPECT_EQ(flows->GetFlow(call("wrong-token-0123456789").get(), {}, &flow).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(proxy().flows().subscribers.load(), 0u);
}

}  // namespace
}  // namespace mproxy::test
