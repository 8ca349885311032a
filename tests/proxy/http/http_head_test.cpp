#include "proxy/http/http_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http1/head_parser.hpp"

namespace mproxy::proxy {
namespace {

HeaderFields sample() {
    HeaderFields f;
    f.add("Content-Type", "text/plain");
    f.add("Set-Cookie", "a=1");
    f.add("set-cookie", "b=2");
    f.add("Cache-Control", "no-cache, No-Store");
    return f;
}

TEST(HeaderFields, FindIsCaseInsensitiveAndReturnsTheFirstValue) {
    const auto f = sample();
    ASSERT_NE(f.find("content-type"), nullptr);
    EXPECT_EQ(*f.find("CONTENT-TYPE"), "text/plain");
    ASSERT_NE(f.find("SET-COOKIE"), nullptr);
    EXPECT_EQ(*f.find("SET-COOKIE"), "a=1");
    EXPECT_EQ(f.find("missing"), nullptr);
    EXPECT_EQ(f.find("Content-Typ"), nullptr);  // a prefix is not a match
}

TEST(HeaderFields, CountCountsEverySpelling) {
    const auto f = sample();
    EXPECT_EQ(f.count("Set-Cookie"), 2u);
    EXPECT_EQ(f.count("content-type"), 1u);
    EXPECT_EQ(f.count("nope"), 0u);
}

TEST(HeaderFields, RemoveRemovesEverySpellingAndKeepsTheRestInOrder) {
    auto f = sample();
    EXPECT_EQ(f.remove("SET-cookie"), 2u);
    ASSERT_EQ(f.all().size(), 2u);
    EXPECT_EQ(f.all()[0].name, "Content-Type");
    EXPECT_EQ(f.all()[1].name, "Cache-Control");
    EXPECT_EQ(f.remove("set-cookie"), 0u);
}

TEST(HeaderFields, HasTokenMatchesWholeListElementsCaseInsensitively) {
    const auto f = sample();
    EXPECT_TRUE(f.has_token("cache-control", "NO-CACHE"));
    EXPECT_TRUE(f.has_token("Cache-Control", "no-store"));
    EXPECT_FALSE(f.has_token("Cache-Control", "no"));
    EXPECT_FALSE(f.has_token("Cache-Control", "no-cache, no-store"));
    EXPECT_FALSE(f.has_token("Content-Type", "no-cache"));
}

TEST(HeaderFields, HasTokenLooksInEveryFieldOfThatName) {
    HeaderFields f;
    f.add("Connection", "keep-alive");
    f.add("connection", "  Upgrade ,");
    EXPECT_TRUE(f.has_token("Connection", "upgrade"));
    EXPECT_TRUE(f.has_token("Connection", "keep-alive"));
    EXPECT_FALSE(f.has_token("Connection", ""));
}

TEST(Iequals, ComparesAsciiLettersWithoutCase) {
    EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
    EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
    EXPECT_FALSE(iequals("a", "b"));
    EXPECT_TRUE(iequals("", ""));
    // Only ASCII letters fold: '@' and '`' sit next to 'A' and 'a'.
    EXPECT_FALSE(iequals("@", "`"));
    EXPECT_FALSE(iequals("[", "{"));
}

TEST(ForEachListElement, TrimsAndSkipsEmptyElements) {
    std::vector<std::string> seen;
    for_each_list_element(" a ,\tb,, ,c\t", [&](std::string_view e) { seen.emplace_back(e); });
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
    seen.clear();
    for_each_list_element("", [&](std::string_view e) { seen.emplace_back(e); });
    EXPECT_TRUE(seen.empty());
}

TEST(AppendHead, RequestSerialisesToTheWireForm) {
    RequestHead head;
    head.method = "POST";
    head.target = "/upload?x=1";
    head.version_minor = 1;
    head.fields.add("Host", "example.com");
    head.fields.add("content-length", "3");
    std::string out = "prefix|";
    append_head(out, head);
    EXPECT_EQ(out, "prefix|POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\ncontent-length: 3\r\n\r\n");
}

TEST(AppendHead, ResponseSerialisesToTheWireForm) {
    ResponseHead head;
    head.version_minor = 0;
    head.status = 404;
    head.reason = "Not Found";
    head.fields.add("X", "y");
    std::string out;
    append_head(out, head);
    EXPECT_EQ(out, "HTTP/1.0 404 Not Found\r\nX: y\r\n\r\n");
}

TEST(AppendHead, RequestRoundTripsThroughTheParser) {
    const std::string wire =
        "GET http://h:8080/p?q HTTP/1.1\r\nHost: h:8080\r\nX-Order: 1\r\nx-order: 2\r\nEmpty: \r\n\r\n";
    auto parsed = parse_request_head(wire);
    ASSERT_TRUE(std::holds_alternative<RequestHead>(parsed));
    const auto& head = std::get<RequestHead>(parsed);
    std::string out;
    append_head(out, head);
    EXPECT_EQ(out, wire);

    auto again = parse_request_head(out);
    ASSERT_TRUE(std::holds_alternative<RequestHead>(again));
    const auto& head2 = std::get<RequestHead>(again);
    EXPECT_EQ(head2.method, head.method);
    EXPECT_EQ(head2.target, head.target);
    EXPECT_EQ(head2.version_minor, head.version_minor);
    ASSERT_EQ(head2.fields.all().size(), head.fields.all().size());
    for (std::size_t i = 0; i < head.fields.all().size(); ++i) {
        EXPECT_EQ(head2.fields.all()[i].name, head.fields.all()[i].name);
        EXPECT_EQ(head2.fields.all()[i].value, head.fields.all()[i].value);
    }
}

TEST(AppendHead, OwsIsNormalisedToOneSpaceOnTheWayOut) {
    auto parsed = parse_request_head("GET / HTTP/1.0\r\nA:b\r\nC: \t d \r\n\r\n");
    ASSERT_TRUE(std::holds_alternative<RequestHead>(parsed));
    std::string out;
    append_head(out, std::get<RequestHead>(parsed));
    EXPECT_EQ(out, "GET / HTTP/1.0\r\nA: b\r\nC: d\r\n\r\n");
}

TEST(AppendHead, ResponseRoundTripsThroughTheParser) {
    for (const std::string wire : {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/1.0 101 \r\n\r\n",
                                   "HTTP/1.1 599 Some Reason Phrase\r\nA: 1\r\nB: 2\r\n\r\n"}) {
        auto parsed = parse_response_head(wire);
        ASSERT_TRUE(std::holds_alternative<ResponseHead>(parsed)) << wire;
        std::string out;
        append_head(out, std::get<ResponseHead>(parsed));
        EXPECT_EQ(out, wire);
    }
}

}  // namespace
}  // namespace mproxy::proxy
