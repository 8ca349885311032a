#include "proxy/capture/queued_records.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

TEST(QueuedRecords, RecordsAreReadBackInOrderWithEveryPartAndAnyBytes) {
    CaptureRecord first{.flow_id = 7,
                        .started_us = -5,
                        .detail = std::string("d\0e", 3),
                        .request_body = "",
                        .response_body = std::string(70'000, 'r'),
                        .websocket = "w",
                        .truncated_bodies = 1};
    CaptureRecord second;
    second.flow_id = 8;
    second.started_us = 9;
    second.detail = "x";
    std::string queue;
    append_record(queue, first);
    append_record(queue, second);
    EXPECT_EQ(queue.size(), queued_size(first) + queued_size(second));

    std::string_view rest(queue);
    const auto a = read_record(rest);
    EXPECT_EQ(a.header.flow_id, 7u);
    EXPECT_EQ(a.header.started_us, -5);
    EXPECT_EQ(a.header.truncated_bodies, 1u);
    EXPECT_EQ(a.detail, first.detail);
    EXPECT_TRUE(a.request_body.empty());
    EXPECT_EQ(a.response_body, first.response_body);
    EXPECT_EQ(a.websocket, "w");
    const auto b = read_record(rest);
    EXPECT_EQ(b.header.flow_id, 8u);
    EXPECT_EQ(b.detail, "x");
    EXPECT_TRUE(b.response_body.empty());
    EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace mproxy::proxy
