#include "proxy/http1/error_response.hpp"

#include <gtest/gtest.h>

#include <string>

#include "proxy/http1/body_framing.hpp"
#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {
namespace {

struct Parsed {
    ResponseHead head;
    std::string body;
};

Parsed parse(const std::string& response) {
    std::size_t searched = 0;
    const auto end = find_head_end(response, searched);
    if (end == std::string::npos) {
        ADD_FAILURE() << "no end of head in: " << response;
        return {};
    }
    auto head = parse_response_head(std::string_view(response).substr(0, end));
    if (auto* failure = std::get_if<HttpFailure>(&head)) {
        ADD_FAILURE() << "not a valid response: " << failure->reason << "\n" << response;
        return {};
    }
    return {std::get<ResponseHead>(std::move(head)), response.substr(end)};
}

TEST(MakeErrorResponse, IsAValidResponseWithTheStatusAndReason) {
    for (unsigned status : {400u, 403u, 408u, 413u, 417u, 431u, 500u, 502u, 503u, 504u, 505u, 508u}) {
        const auto p = parse(make_error_response(status, "because", false));
        EXPECT_EQ(p.head.status, status);
        EXPECT_EQ(p.head.version_minor, 1u);
        EXPECT_EQ(p.head.reason, reason_phrase(status));
        EXPECT_NE(p.head.reason, "Error") << status << " has no reason phrase of its own";
    }
}

TEST(MakeErrorResponse, ContentLengthMatchesTheBody) {
    const std::string explanation = "could not connect to example.com:443 (connection refused)";
    const auto p = parse(make_error_response(502, explanation, true));
    const auto framing = response_body_framing(p.head, "GET");
    ASSERT_TRUE(std::holds_alternative<BodyFraming>(framing));
    EXPECT_EQ(std::get<BodyFraming>(framing).kind, BodyFraming::Kind::length);
    EXPECT_EQ(std::get<BodyFraming>(framing).length, p.body.size());
    EXPECT_NE(p.body.find(explanation), std::string::npos);
    EXPECT_EQ(p.body.back(), '\n');
}

TEST(MakeErrorResponse, EmptyExplanationStillHasAConsistentLength) {
    const auto p = parse(make_error_response(400, "", false));
    ASSERT_NE(p.head.fields.find("content-length"), nullptr);
    EXPECT_EQ(*p.head.fields.find("content-length"), std::to_string(p.body.size()));
}

TEST(MakeErrorResponse, ConnectionCloseOnlyWhenAsked) {
    const auto closing = parse(make_error_response(400, "x", true));
    EXPECT_TRUE(closing.head.fields.has_token("connection", "close"));
    const auto open = parse(make_error_response(400, "x", false));
    EXPECT_EQ(open.head.fields.count("connection"), 0u);
}

TEST(MakeErrorResponse, SaysItComesFromTheProxy) {
    const auto p = parse(make_error_response(403, "denied", false));
    ASSERT_NE(p.head.fields.find("via"), nullptr);
    EXPECT_NE(p.head.fields.find("via")->find("mproxy"), std::string::npos);
    ASSERT_NE(p.head.fields.find("content-type"), nullptr);
    EXPECT_NE(p.head.fields.find("content-type")->find("text/plain"), std::string::npos);
}

TEST(ReasonPhrase, KnownAndUnknownStatuses) {
    EXPECT_EQ(reason_phrase(502), "Bad Gateway");
    EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_EQ(reason_phrase(599), "Error");
}

}  // namespace
}  // namespace mproxy::proxy
