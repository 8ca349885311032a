#include "proxy/http1/body_framing.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>

namespace mproxy::proxy {
namespace {

using Kind = BodyFraming::Kind;
using Fields = std::initializer_list<std::pair<const char*, const char*>>;

RequestHead request(Fields fields, unsigned version_minor = 1, const char* method = "POST") {
    RequestHead head;
    head.method = method;
    head.target = "http://h/";
    head.version_minor = version_minor;
    head.fields.add("Host", "h");
    for (const auto& [name, value] : fields) head.fields.add(name, value);
    return head;
}

ResponseHead response(unsigned status, Fields fields, unsigned version_minor = 1) {
    ResponseHead head;
    head.status = status;
    head.version_minor = version_minor;
    for (const auto& [name, value] : fields) head.fields.add(name, value);
    return head;
}

BodyFraming ok(const ParseResult<BodyFraming>& result) {
    if (auto* failure = std::get_if<HttpFailure>(&result)) {
        ADD_FAILURE() << "refused (" << failure->status << "): " << failure->reason;
        return {};
    }
    return std::get<BodyFraming>(result);
}

HttpFailure refused(const ParseResult<BodyFraming>& result) {
    if (!std::holds_alternative<HttpFailure>(result)) {
        ADD_FAILURE() << "accepted with kind " << static_cast<int>(std::get<BodyFraming>(result).kind);
        return {0, ""};
    }
    return std::get<HttpFailure>(result);
}

// ---- requests ----

TEST(RequestBodyFraming, NoFramingHeadersMeansNoBody) {
    EXPECT_EQ(ok(request_body_framing(request({}))).kind, Kind::none);
    EXPECT_EQ(ok(request_body_framing(request({}, 0, "GET"))).kind, Kind::none);
}

TEST(RequestBodyFraming, ContentLengthGivesALength) {
    const auto framing = ok(request_body_framing(request({{"Content-Length", "1234"}})));
    EXPECT_EQ(framing.kind, Kind::length);
    EXPECT_EQ(framing.length, 1234u);
}

TEST(RequestBodyFraming, ContentLengthNameIsCaseInsensitive) {
    const auto framing = ok(request_body_framing(request({{"cOnTeNt-LeNgTh", "7"}})));
    EXPECT_EQ(framing.kind, Kind::length);
    EXPECT_EQ(framing.length, 7u);
}

TEST(RequestBodyFraming, ZeroContentLengthMeansNoBody) {
    EXPECT_EQ(ok(request_body_framing(request({{"Content-Length", "0"}}))).kind, Kind::none);
}

TEST(RequestBodyFraming, LargestNineteenDigitLengthIsAccepted) {
    const auto framing = ok(request_body_framing(request({{"Content-Length", "9999999999999999999"}})));
    EXPECT_EQ(framing.kind, Kind::length);
    EXPECT_EQ(framing.length, 9999999999999999999ull);
}

TEST(RequestBodyFraming, TwentyDigitLengthIsRefused) {
    // Would overflow 64 bits; must not wrap into a small length.
    EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", "18446744073709551621"}}))).status, 400u);
    EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", "00000000000000000005"}}))).status, 400u);
}

TEST(RequestBodyFraming, ChunkedGivesChunked) {
    EXPECT_EQ(ok(request_body_framing(request({{"Transfer-Encoding", "chunked"}}))).kind, Kind::chunked);
    EXPECT_EQ(ok(request_body_framing(request({{"transfer-encoding", "CHUNKED"}}))).kind, Kind::chunked);
}

TEST(RequestBodyFraming, ChunkedLastAfterOtherCodingsIsChunked) {
    EXPECT_EQ(ok(request_body_framing(request({{"Transfer-Encoding", "gzip, chunked"}}))).kind, Kind::chunked);
    EXPECT_EQ(ok(request_body_framing(request({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}})))
                  .kind,
              Kind::chunked);
}

TEST(RequestBodyFraming, ContentLengthWithTransferEncodingIs400) {
    const auto f = refused(request_body_framing(request({{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}})));
    EXPECT_EQ(f.status, 400u);
    EXPECT_NE(f.reason.find("ambiguous"), std::string::npos) << f.reason;
    EXPECT_EQ(refused(request_body_framing(request({{"Transfer-Encoding", "chunked"}, {"Content-Length", "0"}})))
                  .status,
              400u);
}

TEST(RequestBodyFraming, DifferingDuplicateContentLengthsAre400) {
    EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", "5"}, {"Content-Length", "6"}}))).status,
              400u);
    EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", "5, 6"}}))).status, 400u);
    EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", "5,5,6"}}))).status, 400u);
}

TEST(RequestBodyFraming, IdenticalDuplicateContentLengthsAreOneLength) {
    for (Fields fields : {Fields{{"Content-Length", "5, 5"}}, Fields{{"Content-Length", "5"}, {"Content-Length", "5"}},
                          Fields{{"Content-Length", "5,5"}, {"content-length", "5"}}}) {
        const auto framing = ok(request_body_framing(request(fields)));
        EXPECT_EQ(framing.kind, Kind::length);
        EXPECT_EQ(framing.length, 5u);
    }
}

TEST(RequestBodyFraming, NonDigitContentLengthIs400) {
    for (const char* value : {"abc", "-1", "+5", "5a", "0x10", "5 6", "1.0", "", " ", ","}) {
        EXPECT_EQ(refused(request_body_framing(request({{"Content-Length", value}}))).status, 400u)
            << "'" << value << "'";
    }
}

TEST(RequestBodyFraming, TransferEncodingNotEndingInChunkedIs400) {
    for (const char* value : {"gzip", "chunked, gzip", "identity", "chunkedx", ""}) {
        const auto f = refused(request_body_framing(request({{"Transfer-Encoding", value}})));
        EXPECT_EQ(f.status, 400u) << "'" << value << "'";
    }
}

TEST(RequestBodyFraming, ChunkedTwiceIs400) {
    EXPECT_EQ(refused(request_body_framing(request({{"Transfer-Encoding", "chunked, chunked"}}))).status, 400u);
    EXPECT_EQ(refused(request_body_framing(request({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})))
                  .status,
              400u);
    EXPECT_EQ(refused(request_body_framing(request({{"Transfer-Encoding", "chunked, gzip, chunked"}}))).status, 400u);
}

TEST(RequestBodyFraming, TransferEncodingInHttp10Is400) {
    const auto f = refused(request_body_framing(request({{"Transfer-Encoding", "chunked"}}, 0)));
    EXPECT_EQ(f.status, 400u);
    EXPECT_NE(f.reason.find("HTTP/1.0"), std::string::npos) << f.reason;
}

TEST(RequestBodyFraming, ContentLengthInHttp10IsALength) {
    const auto framing = ok(request_body_framing(request({{"Content-Length", "3"}}, 0)));
    EXPECT_EQ(framing.kind, Kind::length);
    EXPECT_EQ(framing.length, 3u);
}

// ---- responses ----

TEST(ResponseBodyFraming, HeadResponsesHaveNoBodyWhateverTheyDeclare) {
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Content-Length", "100"}}), "HEAD")).kind, Kind::none);
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Transfer-Encoding", "chunked"}}), "HEAD")).kind, Kind::none);
    EXPECT_EQ(ok(response_body_framing(response(200, {}), "HEAD")).kind, Kind::none);
}

TEST(ResponseBodyFraming, InterimAnd204And304HaveNoBody) {
    for (unsigned status : {100u, 101u, 103u, 199u, 204u, 304u}) {
        EXPECT_EQ(ok(response_body_framing(response(status, {{"Content-Length", "10"}}), "GET")).kind, Kind::none)
            << status;
        EXPECT_EQ(ok(response_body_framing(response(status, {}), "GET")).kind, Kind::none) << status;
    }
}

TEST(ResponseBodyFraming, SuccessfulConnectHasNoBodyButAFailedOneDoes) {
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Content-Length", "10"}}), "CONNECT")).kind, Kind::none);
    EXPECT_EQ(ok(response_body_framing(response(299, {}), "CONNECT")).kind, Kind::none);
    const auto refused_connect = ok(response_body_framing(response(407, {{"Content-Length", "10"}}), "CONNECT"));
    EXPECT_EQ(refused_connect.kind, Kind::length);
    EXPECT_EQ(refused_connect.length, 10u);
    EXPECT_EQ(ok(response_body_framing(response(300, {}), "CONNECT")).kind, Kind::until_close);
}

TEST(ResponseBodyFraming, ContentLength) {
    const auto framing = ok(response_body_framing(response(200, {{"Content-Length", "42"}}), "GET"));
    EXPECT_EQ(framing.kind, Kind::length);
    EXPECT_EQ(framing.length, 42u);
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Content-Length", "0"}}), "GET")).kind, Kind::none);
}

TEST(ResponseBodyFraming, ChunkedTransferEncoding) {
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Transfer-Encoding", "chunked"}}), "GET")).kind, Kind::chunked);
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Transfer-Encoding", "gzip, Chunked"}}), "POST")).kind,
              Kind::chunked);
}

TEST(ResponseBodyFraming, TransferEncodingInHttp10ResponseIsFaultyAndReadUntilClose) {
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Transfer-Encoding", "chunked"}}, 0), "GET")).kind,
              Kind::until_close);
}

TEST(ResponseBodyFraming, NonChunkedTransferEncodingReadsUntilClose) {
    EXPECT_EQ(ok(response_body_framing(response(200, {{"Transfer-Encoding", "gzip"}}), "GET")).kind,
              Kind::until_close);
}

TEST(ResponseBodyFraming, ChunkedTwiceIs502) {
    EXPECT_EQ(refused(response_body_framing(response(200, {{"Transfer-Encoding", "chunked, chunked"}}), "GET")).status,
              502u);
}

TEST(ResponseBodyFraming, NoFramingReadsUntilClose) {
    EXPECT_EQ(ok(response_body_framing(response(200, {}), "GET")).kind, Kind::until_close);
    EXPECT_EQ(ok(response_body_framing(response(500, {}, 0), "POST")).kind, Kind::until_close);
}

TEST(ResponseBodyFraming, ContentLengthWithTransferEncodingIs502) {
    const auto f =
        refused(response_body_framing(response(200, {{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}), "GET"));
    EXPECT_EQ(f.status, 502u);
}

TEST(ResponseBodyFraming, BadOrConflictingContentLengthIs502) {
    EXPECT_EQ(refused(response_body_framing(response(200, {{"Content-Length", "3, 4"}}), "GET")).status, 502u);
    EXPECT_EQ(refused(response_body_framing(response(200, {{"Content-Length", "x"}}), "GET")).status, 502u);
    const auto same = ok(response_body_framing(response(200, {{"Content-Length", "4, 4"}}), "GET"));
    EXPECT_EQ(same.kind, Kind::length);
    EXPECT_EQ(same.length, 4u);
}

TEST(BodyFraming, OfLengthZeroIsNone) {
    EXPECT_EQ(BodyFraming::of_length(0).kind, Kind::none);
    EXPECT_EQ(BodyFraming::of_length(1).kind, Kind::length);
    EXPECT_EQ(BodyFraming::of_length(1).length, 1u);
}

}  // namespace
}  // namespace mproxy::proxy
