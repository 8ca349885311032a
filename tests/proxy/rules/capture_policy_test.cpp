// Which bodies a capture policy keeps by their Content-Type.

#include <gtest/gtest.h>

#include "proxy/rules/capture_policy.hpp"

namespace mproxy::proxy {
namespace {

TEST(CapturePolicyTypes, AnEmptyListKeepsEveryTypeAndTheSkippedOnesGo) {
    CapturePolicy policy;
    EXPECT_TRUE(keeps_body_of_type(policy, "application/json"));
    EXPECT_TRUE(keeps_body_of_type(policy, ""));
    policy.skip_body_content_types = {"image/", "video/mp4"};
    EXPECT_FALSE(keeps_body_of_type(policy, "image/png"));
    EXPECT_FALSE(keeps_body_of_type(policy, "Video/MP4; codecs=avc1"));
    EXPECT_TRUE(keeps_body_of_type(policy, "video/webm"));
}

TEST(CapturePolicyTypes, AnIncludeListKeepsOnlyItsTypesIgnoringCaseAndParameters) {
    CapturePolicy policy;
    policy.body_content_types = {"application/json", "text/"};
    EXPECT_TRUE(keeps_body_of_type(policy, "Application/JSON; charset=utf-8"));
    EXPECT_TRUE(keeps_body_of_type(policy, " text/html"));
    EXPECT_FALSE(keeps_body_of_type(policy, "application/octet-stream"));
    EXPECT_FALSE(keeps_body_of_type(policy, "")) << "no type is not one of the listed types";
    EXPECT_FALSE(keeps_body_of_type(policy, "application/jsonp"));
}

}  // namespace
}  // namespace mproxy::proxy
