#include "proxy/http/authority.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

// ---- CONNECT authority ----

TEST(ParseConnectAuthority, NameAndPort) {
    const auto a = parse_connect_authority("example.com:443");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "example.com");
    EXPECT_EQ(a->port, 443);
}

TEST(ParseConnectAuthority, Ipv4AndUnderscoresAndHyphens) {
    const auto v4 = parse_connect_authority("192.0.2.1:8080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "192.0.2.1");
    EXPECT_EQ(v4->port, 8080);
    const auto name = parse_connect_authority("my_host-1.Example.ORG:1");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->host, "my_host-1.Example.ORG");  // spelling kept
    EXPECT_EQ(name->port, 1);
}

TEST(ParseConnectAuthority, PortIsRequired) {
    EXPECT_FALSE(parse_connect_authority("example.com"));
    EXPECT_FALSE(parse_connect_authority("example.com:"));
    EXPECT_FALSE(parse_connect_authority("[::1]"));
    EXPECT_FALSE(parse_connect_authority("[::1]:"));
}

TEST(ParseConnectAuthority, Ipv6InBrackets) {
    const auto a = parse_connect_authority("[2001:db8::1]:443");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "2001:db8::1");
    EXPECT_EQ(a->port, 443);
    const auto mapped = parse_connect_authority("[::ffff:192.0.2.1]:80");
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->host, "::ffff:192.0.2.1");
}

TEST(ParseConnectAuthority, Ipv6WithoutBracketsOrMalformedBracketsIsRefused) {
    EXPECT_FALSE(parse_connect_authority("::1:443"));
    EXPECT_FALSE(parse_connect_authority("2001:db8::1:443"));
    EXPECT_FALSE(parse_connect_authority("[::1:443"));
    EXPECT_FALSE(parse_connect_authority("[::1]443"));
    EXPECT_FALSE(parse_connect_authority("[::1]]:443"));
    EXPECT_FALSE(parse_connect_authority("[]:443"));
    EXPECT_FALSE(parse_connect_authority("[:]:443"));
    EXPECT_FALSE(parse_connect_authority("[example.com]:443"));
    EXPECT_FALSE(parse_connect_authority("[abcd]:443"));  // hex digits but no colon: not an IPv6 literal
    EXPECT_FALSE(parse_connect_authority("[fe80::1%25eth0]:443"));  // zone ids are not accepted
}

TEST(ParseConnectAuthority, BadPortsAreRefused) {
    for (const char* text : {"h:0", "h:65536", "h:99999", "h:abc", "h:-1", "h:+80", "h: 80", "h:80 ", "h:123456",
                             "h:8o", "h:0x50", "[::1]:0", "[::1]:65536"}) {
        EXPECT_FALSE(parse_connect_authority(text)) << text;
    }
}

TEST(ParseConnectAuthority, PortBoundsAreAccepted) {
    ASSERT_TRUE(parse_connect_authority("h:65535"));
    EXPECT_EQ(parse_connect_authority("h:65535")->port, 65535);
    ASSERT_TRUE(parse_connect_authority("h:1"));
    EXPECT_EQ(parse_connect_authority("h:00443")->port, 443);
}

TEST(ParseConnectAuthority, BadHostsAreRefused) {
    for (const char* text : {":443", "exa mple.com:443", "user@host:443", "h/x:443", "h%41:443", "a:b:443",
                             "caf\xc3\xa9.com:443", "h\t:443", "h\r\n:443"}) {
        EXPECT_FALSE(parse_connect_authority(text)) << text;
    }
    EXPECT_FALSE(parse_connect_authority(std::string(254, 'a') + ":443"));
    EXPECT_TRUE(parse_connect_authority(std::string(253, 'a') + ":443"));
}

TEST(ParseAuthority, DefaultPortAppliesOnlyWhenNoneIsGiven) {
    const auto without = parse_authority("example.com", 80);
    ASSERT_TRUE(without);
    EXPECT_EQ(without->port, 80);
    const auto with = parse_authority("example.com:8080", 80);
    ASSERT_TRUE(with);
    EXPECT_EQ(with->port, 8080);
    const auto v6 = parse_authority("[::1]", 80);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 80);
    EXPECT_FALSE(parse_authority("example.com:", 80));
    EXPECT_FALSE(parse_authority("", 80));
}

// ---- Authority::to_string ----

TEST(AuthorityToString, NameAndIpv4) {
    EXPECT_EQ((Authority{"example.com", 443}).to_string(), "example.com:443");
    EXPECT_EQ((Authority{"10.0.0.1", 80}).to_string(), "10.0.0.1:80");
}

TEST(AuthorityToString, Ipv6GetsBrackets) {
    EXPECT_EQ((Authority{"::1", 8443}).to_string(), "[::1]:8443");
}

TEST(AuthorityToString, ParsesBackToTheSameAuthority) {
    for (const char* text : {"example.com:443", "[2001:db8::1]:1", "127.0.0.1:65535", "h:00080"}) {
        const auto a = parse_connect_authority(text);
        ASSERT_TRUE(a) << text;
        const auto again = parse_connect_authority(a->to_string());
        ASSERT_TRUE(again) << a->to_string();
        EXPECT_EQ(*again, *a);
    }
}

// ---- absolute-form targets ----

TEST(ParseHttpAbsoluteTarget, PathAndQueryWithDefaultPort) {
    const auto t = parse_http_absolute_target("http://example.com/a/b?c=d&e");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->authority.host, "example.com");
    EXPECT_EQ(t->authority.port, 80);
    EXPECT_EQ(t->origin_form, "/a/b?c=d&e");
}

TEST(ParseHttpAbsoluteTarget, ExplicitPortAndIpv6) {
    const auto t = parse_http_absolute_target("http://[::1]:8080/x");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->authority.host, "::1");
    EXPECT_EQ(t->authority.port, 8080);
    EXPECT_EQ(t->origin_form, "/x");
}

TEST(ParseHttpAbsoluteTarget, NoPathMeansSlash) {
    const auto t = parse_http_absolute_target("http://example.com");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->origin_form, "/");
    const auto with_port = parse_http_absolute_target("http://example.com:81");
    ASSERT_TRUE(with_port);
    EXPECT_EQ(with_port->authority.port, 81);
    EXPECT_EQ(with_port->origin_form, "/");
}

TEST(ParseHttpAbsoluteTarget, QueryWithoutPathGetsASlash) {
    const auto t = parse_http_absolute_target("http://h?q=1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->authority.host, "h");
    EXPECT_EQ(t->origin_form, "/?q=1");
    const auto with_port = parse_http_absolute_target("http://h:8080?q");
    ASSERT_TRUE(with_port);
    EXPECT_EQ(with_port->authority.port, 8080);
    EXPECT_EQ(with_port->origin_form, "/?q");
}

TEST(ParseHttpAbsoluteTarget, UserinfoIsRefused) {
    EXPECT_FALSE(parse_http_absolute_target("http://user@example.com/"));
    EXPECT_FALSE(parse_http_absolute_target("http://user:pass@example.com/"));
    EXPECT_FALSE(parse_http_absolute_target("http://@example.com"));
}

TEST(ParseHttpAbsoluteTarget, AtSignInThePathIsNotUserinfo) {
    const auto t = parse_http_absolute_target("http://example.com/~a@b");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->authority.host, "example.com");
    EXPECT_EQ(t->origin_form, "/~a@b");
}

TEST(ParseHttpAbsoluteTarget, FragmentIsRefused) {
    EXPECT_FALSE(parse_http_absolute_target("http://example.com/a#frag"));
    EXPECT_FALSE(parse_http_absolute_target("http://example.com#frag"));
    EXPECT_FALSE(parse_http_absolute_target("http://example.com/?q#frag"));
}

TEST(ParseHttpAbsoluteTarget, OnlyHttpSchemeIsAccepted) {
    EXPECT_FALSE(parse_http_absolute_target("https://example.com/"));
    EXPECT_FALSE(parse_http_absolute_target("ftp://example.com/"));
    EXPECT_FALSE(parse_http_absolute_target("http:/example.com/"));
    EXPECT_FALSE(parse_http_absolute_target("/just/a/path"));
    EXPECT_FALSE(parse_http_absolute_target("example.com:80"));
    EXPECT_FALSE(parse_http_absolute_target("http:"));
    EXPECT_FALSE(parse_http_absolute_target(""));
}

TEST(ParseHttpAbsoluteTarget, SchemeIsCaseInsensitive) {
    const auto t = parse_http_absolute_target("HTTP://Example.com/P");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->authority.host, "Example.com");
    EXPECT_EQ(t->origin_form, "/P");
    EXPECT_TRUE(parse_http_absolute_target("hTtP://h/"));
}

TEST(ParseHttpAbsoluteTarget, EmptyOrBadAuthorityIsRefused) {
    EXPECT_FALSE(parse_http_absolute_target("http:///path"));
    EXPECT_FALSE(parse_http_absolute_target("http://"));
    EXPECT_FALSE(parse_http_absolute_target("http://h:0/"));
    EXPECT_FALSE(parse_http_absolute_target("http://h:99999/"));
    EXPECT_FALSE(parse_http_absolute_target("http://h:/"));
    EXPECT_FALSE(parse_http_absolute_target("http://[::1/"));
}

}  // namespace
}  // namespace mproxy::proxy
