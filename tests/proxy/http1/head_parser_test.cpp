#include "proxy/http1/head_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace mproxy::proxy {
namespace {

RequestHead request_ok(std::string_view head) {
    auto parsed = parse_request_head(head);
    if (auto* failure = std::get_if<HttpFailure>(&parsed)) {
        ADD_FAILURE() << "refused (" << failure->status << "): " << failure->reason << "\nhead: " << head;
        return {};
    }
    return std::get<RequestHead>(std::move(parsed));
}

HttpFailure request_refused(std::string_view head) {
    auto parsed = parse_request_head(head);
    if (!std::holds_alternative<HttpFailure>(parsed)) {
        ADD_FAILURE() << "accepted: " << head;
        return {0, ""};
    }
    return std::get<HttpFailure>(std::move(parsed));
}

ResponseHead response_ok(std::string_view head) {
    auto parsed = parse_response_head(head);
    if (auto* failure = std::get_if<HttpFailure>(&parsed)) {
        ADD_FAILURE() << "refused (" << failure->status << "): " << failure->reason << "\nhead: " << head;
        return {};
    }
    return std::get<ResponseHead>(std::move(parsed));
}

HttpFailure response_refused(std::string_view head) {
    auto parsed = parse_response_head(head);
    if (!std::holds_alternative<HttpFailure>(parsed)) {
        ADD_FAILURE() << "accepted: " << head;
        return {0, ""};
    }
    return std::get<HttpFailure>(std::move(parsed));
}

// ---- find_head_end ----

TEST(FindHeadEnd, ReturnsLengthIncludingTheEmptyLine) {
    const std::string_view bytes = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    std::size_t searched = 0;
    EXPECT_EQ(find_head_end(bytes, searched), bytes.size() - 4);
}

TEST(FindHeadEnd, IncompleteHeadIsNposAndRecordsHowFarItLooked) {
    const std::string_view bytes = "GET / HTTP/1.1\r\nHost: a\r\n";
    std::size_t searched = 0;
    EXPECT_EQ(find_head_end(bytes, searched), std::string_view::npos);
    EXPECT_EQ(searched, bytes.size());
}

TEST(FindHeadEnd, BareLfLfIsNotAnEnd) {
    std::size_t searched = 0;
    EXPECT_EQ(find_head_end("GET / HTTP/1.1\n\n", searched), std::string_view::npos);
    searched = 0;
    EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\n\n\r\n", searched), std::string_view::npos);
}

TEST(FindHeadEnd, FindsTheTerminatorSplitAtEveryPointBetweenReads) {
    const std::string full = "GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
    const std::size_t expected = full.size() - 4;
    // The terminator's four bytes straddle the boundary of the first read in every possible way.
    for (std::size_t first = 1; first < expected; ++first) {
        std::size_t searched = 0;
        ASSERT_EQ(find_head_end(std::string_view(full).substr(0, first), searched), std::string_view::npos)
            << "first read " << first;
        EXPECT_EQ(searched, first);
        EXPECT_EQ(find_head_end(full, searched), expected) << "first read " << first;
    }
}

TEST(FindHeadEnd, ByteAtATimeFindsTheEndWhenItsLastByteArrives) {
    const std::string full = "HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
    std::size_t searched = 0;
    for (std::size_t n = 1; n < full.size(); ++n)
        ASSERT_EQ(find_head_end(std::string_view(full).substr(0, n), searched), std::string_view::npos) << n;
    EXPECT_EQ(find_head_end(full, searched), full.size());
}

TEST(FindHeadEnd, FindsTheFirstTerminatorNotALaterOne) {
    const std::string_view bytes = "A\r\n\r\nB\r\n\r\n";
    std::size_t searched = 0;
    EXPECT_EQ(find_head_end(bytes, searched), 5u);
}

// ---- requests: accepted ----

TEST(ParseRequestHead, ParsesRequestLineAndFields) {
    const auto req = request_ok("GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.target, "http://example.com/a?b=c");
    EXPECT_EQ(req.version_minor, 1u);
    ASSERT_EQ(req.fields.all().size(), 2u);
    EXPECT_EQ(req.fields.all()[0].name, "Host");
    EXPECT_EQ(req.fields.all()[0].value, "example.com");
    EXPECT_EQ(req.fields.all()[1].name, "Accept");
    EXPECT_EQ(req.fields.all()[1].value, "*/*");
}

TEST(ParseRequestHead, KeepsFieldOrderAndNameSpellingIncludingDuplicates) {
    const auto req = request_ok(
        "POST /x HTTP/1.1\r\nx-LOWER-upper: 1\r\nHost: h\r\nSet-Thing: a\r\nset-thing: b\r\nZzz: last\r\n\r\n");
    const auto& all = req.fields.all();
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[0].name, "x-LOWER-upper");
    EXPECT_EQ(all[1].name, "Host");
    EXPECT_EQ(all[2].name, "Set-Thing");
    EXPECT_EQ(all[2].value, "a");
    EXPECT_EQ(all[3].name, "set-thing");
    EXPECT_EQ(all[3].value, "b");
    EXPECT_EQ(all[4].name, "Zzz");
}

TEST(ParseRequestHead, TrimsOptionalWhitespaceAroundValuesButNotInside) {
    const auto req = request_ok("GET / HTTP/1.1\r\nHost:h\r\nA: \t x  y \t \r\nB:\r\nC:   \r\n\r\n");
    ASSERT_EQ(req.fields.all().size(), 4u);
    EXPECT_EQ(req.fields.all()[0].value, "h");
    EXPECT_EQ(req.fields.all()[1].value, "x  y");
    EXPECT_EQ(req.fields.all()[2].value, "");
    EXPECT_EQ(req.fields.all()[3].value, "");
}

TEST(ParseRequestHead, AcceptsObsTextInValues) {
    const auto req = request_ok("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n");
    EXPECT_EQ(*req.fields.find("x"), "caf\xc3\xa9");
}

TEST(ParseRequestHead, Http10NeedsNoHost) {
    const auto req = request_ok("GET http://h/ HTTP/1.0\r\n\r\n");
    EXPECT_EQ(req.version_minor, 0u);
    EXPECT_TRUE(req.fields.all().empty());
}

TEST(ParseRequestHead, AcceptsConnectAndAsteriskTargetsAndExtensionMethods) {
    EXPECT_EQ(request_ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").target,
              "example.com:443");
    EXPECT_EQ(request_ok("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target, "*");
    EXPECT_EQ(request_ok("M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n").method, "M-SEARCH");
}

TEST(ParseRequestHead, HostIsFoundWhateverItsCase) {
    EXPECT_EQ(request_ok("GET / HTTP/1.1\r\nhOsT: h\r\n\r\n").fields.count("Host"), 1u);
}

// ---- requests: refused ----

TEST(ParseRequestHead, RefusesBareLfLineEnds) {
    EXPECT_EQ(request_refused("GET / HTTP/1.1\nHost: h\r\n\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\n\r\n").status, 400u);
    const auto f = request_refused("GET / HTTP/1.1\r\nHost: h\r\n\n");
    EXPECT_EQ(f.status, 400u);
    EXPECT_NE(f.reason.find("line ending"), std::string::npos) << f.reason;
}

TEST(ParseRequestHead, RefusesBareCr) {
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n").status, 400u);
    const auto f = request_refused("GET / HTTP/1.1\r\nHost: h\r\nX\r: y\r\n\r\n");
    EXPECT_EQ(f.status, 400u);
}

TEST(ParseRequestHead, RefusesObsoleteLineFolding) {
    for (const char* head : {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
                             "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"}) {
        const auto f = request_refused(head);
        EXPECT_EQ(f.status, 400u);
        EXPECT_NE(f.reason.find("folding"), std::string::npos) << f.reason;
    }
}

TEST(ParseRequestHead, RefusesWhitespaceBeforeTheColon) {
    for (const char* head : {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\nX\t: y\r\n\r\n"}) {
        const auto f = request_refused(head);
        EXPECT_EQ(f.status, 400u);
        EXPECT_NE(f.reason.find("field name"), std::string::npos) << f.reason;
    }
}

TEST(ParseRequestHead, RefusesBadFieldNames) {
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\nX\"y: z\r\n\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\nCaf\xc3\xa9: z\r\n\r\n").status, 400u);
    const auto f = request_refused("GET / HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n");
    EXPECT_EQ(f.status, 400u);
    EXPECT_NE(f.reason.find("colon"), std::string::npos) << f.reason;
}

TEST(ParseRequestHead, RefusesControlCharactersInValues) {
    static constexpr char nul_head[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    const std::string nul(nul_head, sizeof nul_head - 1);  // the NUL inside counts; the terminator not
    ASSERT_EQ(nul[29], '\0');
    for (const std::string& head : {nul, std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n"),
                                    std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"),
                                    std::string("GET / HTTP/1.1\r\nHost: h\r\nX: \x1b[31m\r\n\r\n")}) {
        const auto f = request_refused(head);
        EXPECT_EQ(f.status, 400u);
        EXPECT_NE(f.reason.find("value of header field X"), std::string::npos) << f.reason;
    }
}

TEST(ParseRequestHead, AllowsTabInsideValues) {
    EXPECT_EQ(*request_ok("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\r\n\r\n").fields.find("X"), "a\tb");
}

TEST(ParseRequestHead, Http11NeedsExactlyOneHost) {
    const auto missing = request_refused("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n");
    EXPECT_EQ(missing.status, 400u);
    EXPECT_NE(missing.reason.find("Host"), std::string::npos);
    const auto twice = request_refused("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
    EXPECT_EQ(twice.status, 400u);
    EXPECT_NE(twice.reason.find("Host"), std::string::npos);
}

TEST(ParseRequestHead, TwoHostFieldsAreRefusedInHttp10Too) {
    // RFC 9112 section 3.2: more than one Host field line in any request is a 400.
    const auto f = request_refused("GET http://a/ HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");
    EXPECT_EQ(f.status, 400u);
}

TEST(ParseRequestHead, UnsupportedVersionsAre505) {
    for (const char* head : {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
                             "GET / HTTP/0.9\r\nHost: h\r\n\r\n", "GET / HTTP/3.0\r\nHost: h\r\n\r\n"}) {
        EXPECT_EQ(request_refused(head).status, 505u) << head;
    }
}

TEST(ParseRequestHead, MalformedVersionsAre400) {
    for (const char* head : {"GET / HTTP/1.1x\r\nHost: h\r\n\r\n", "GET / http/1.1\r\nHost: h\r\n\r\n",
                             "GET / HTTP/11\r\nHost: h\r\n\r\n", "GET / HTTP/1.a\r\nHost: h\r\n\r\n",
                             "GET / HTTP/a.1\r\nHost: h\r\n\r\n", "GET / HTTP/1,1\r\nHost: h\r\n\r\n",
                             "GET / \r\nHost: h\r\n\r\n"}) {
        const auto f = request_refused(head);
        EXPECT_EQ(f.status, 400u) << head;
    }
}

TEST(ParseRequestHead, MalformedRequestLinesAre400) {
    for (const char* head : {
             "GET /  HTTP/1.1\r\nHost: h\r\n\r\n",    // two spaces
             " GET / HTTP/1.1\r\nHost: h\r\n\r\n",    // leading space: empty method
             "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",    // empty target
             "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",    // trailing space
             "GET /HTTP/1.1\r\nHost: h\r\n\r\n",      // one space
             "GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n",   // tabs are not separators
             "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",     // method not a token
             "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", // control in target
             "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n",  // obs-text in target
             "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",  // empty line first
             "",
         }) {
        EXPECT_EQ(request_refused(head).status, 400u) << head;
    }
}

TEST(ParseRequestHead, UnterminatedHeadIsRefused) {
    EXPECT_EQ(request_refused("GET / HTTP/1.1\r\nHost: h\r\n").status, 400u);
    EXPECT_EQ(request_refused("GET / HTTP/1.1").status, 400u);
}

// ---- responses ----

TEST(ParseResponseHead, ParsesStatusLineAndFields) {
    const auto resp = response_ok("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-A:  b \r\n\r\n");
    EXPECT_EQ(resp.version_minor, 1u);
    EXPECT_EQ(resp.status, 404u);
    EXPECT_EQ(resp.reason, "Not Found");
    ASSERT_EQ(resp.fields.all().size(), 2u);
    EXPECT_EQ(resp.fields.all()[0].name, "Content-Length");
    EXPECT_EQ(resp.fields.all()[1].name, "X-A");
    EXPECT_EQ(resp.fields.all()[1].value, "b");
}

TEST(ParseResponseHead, ReasonPhraseIsOptionalAndMayHoldSpaces) {
    EXPECT_EQ(response_ok("HTTP/1.1 200\r\n\r\n").reason, "");
    EXPECT_EQ(response_ok("HTTP/1.1 200 \r\n\r\n").reason, "");
    EXPECT_EQ(response_ok("HTTP/1.0 500 Very  Bad\tThing\r\n\r\n").reason, "Very  Bad\tThing");
    EXPECT_EQ(response_ok("HTTP/1.0 500 Very  Bad\tThing\r\n\r\n").version_minor, 0u);
}

TEST(ParseResponseHead, ResponsesNeedNoHost) {
    EXPECT_EQ(response_ok("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").status, 101u);
}

TEST(ParseResponseHead, StatusBelow100IsRefused) {
    const auto f = response_refused("HTTP/1.1 099 Odd\r\n\r\n");
    EXPECT_EQ(f.status, 400u);
    EXPECT_NE(f.reason.find("range"), std::string::npos) << f.reason;
    EXPECT_EQ(response_refused("HTTP/1.1 000 Odd\r\n\r\n").status, 400u);
    EXPECT_EQ(response_ok("HTTP/1.1 100 Continue\r\n\r\n").status, 100u);
}

TEST(ParseResponseHead, MalformedStatusLinesAreRefused) {
    for (const char* head : {
             "HTTP/1.1 20 OK\r\n\r\n",      // two digits
             "HTTP/1.1 2000 OK\r\n\r\n",    // four digits
             "HTTP/1.1 2x0 OK\r\n\r\n",     // not a digit
             "HTTP/1.1  200 OK\r\n\r\n",    // two spaces
             "HTTP/1.1\t200 OK\r\n\r\n",    // tab separator
             "HTTP/1.1 200OK\r\n\r\n",      // no space before the reason
             "HTTP/11 200 OK\r\n\r\n",      // malformed version
             "ICY 200 OK\r\n\r\n",          // not HTTP
             "HTTP/1.1 200 O\x01K\r\n\r\n",  // control in reason
             "HTTP/1.1 -20 OK\r\n\r\n",
             "",
         }) {
        EXPECT_EQ(response_refused(head).status, 400u) << head;
    }
}

TEST(ParseResponseHead, UnsupportedVersionIs505) {
    EXPECT_EQ(response_refused("HTTP/2.0 200 OK\r\n\r\n").status, 505u);
}

TEST(ParseResponseHead, FieldRulesApplyToResponsesToo) {
    EXPECT_EQ(response_refused("HTTP/1.1 200 OK\nA: b\r\n\r\n").status, 400u);
    EXPECT_EQ(response_refused("HTTP/1.1 200 OK\r\nA : b\r\n\r\n").status, 400u);
    EXPECT_EQ(response_refused("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n").status, 400u);
    EXPECT_EQ(response_refused("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n").status, 400u);
    EXPECT_EQ(response_refused("HTTP/1.1 200 OK\r\nA: b\x7f\r\n\r\n").status, 400u);
}

}  // namespace
}  // namespace mproxy::proxy
