#include "proxy/http/hop_by_hop.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace mproxy::proxy {
namespace {

using Fields = std::initializer_list<std::pair<const char*, const char*>>;

HeaderFields fields_of(Fields list) {
    HeaderFields fields;
    for (const auto& [name, value] : list) fields.add(name, value);
    return fields;
}

std::vector<std::string> names(const HeaderFields& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields.all()) out.push_back(f.name);
    return out;
}

RequestHead websocket_request() {
    RequestHead head;
    head.method = "GET";
    head.target = "http://h/chat";
    head.version_minor = 1;
    head.fields = fields_of({{"Host", "h"}, {"Connection", "keep-alive, Upgrade"}, {"Upgrade", "websocket"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    return head;
}

// ---- keeps_alive ----

TEST(KeepsAlive, Http11DefaultsToKeepAlive) {
    EXPECT_TRUE(keeps_alive(fields_of({}), 1));
    EXPECT_TRUE(keeps_alive(fields_of({{"Connection", "keep-alive"}}), 1));
}

TEST(KeepsAlive, Http10DefaultsToClose) {
    EXPECT_FALSE(keeps_alive(fields_of({}), 0));
    EXPECT_TRUE(keeps_alive(fields_of({{"Connection", "keep-alive"}}), 0));
    EXPECT_TRUE(keeps_alive(fields_of({{"connection", "Keep-Alive"}}), 0));
}

TEST(KeepsAlive, CloseWinsInAnyVersionAndAnyListPosition) {
    EXPECT_FALSE(keeps_alive(fields_of({{"Connection", "close"}}), 1));
    EXPECT_FALSE(keeps_alive(fields_of({{"Connection", "Upgrade, CLOSE"}}), 1));
    EXPECT_FALSE(keeps_alive(fields_of({{"Connection", "keep-alive"}, {"Connection", "close"}}), 1));
    EXPECT_FALSE(keeps_alive(fields_of({{"Connection", "keep-alive, close"}}), 0));
}

TEST(KeepsAlive, CloseMustBeAWholeToken) {
    EXPECT_TRUE(keeps_alive(fields_of({{"Connection", "closed"}}), 1));
    EXPECT_TRUE(keeps_alive(fields_of({{"X-Connection", "close"}}), 1));
}

TEST(KeepsAlive, ProxyConnectionCountsAsConnection) {
    EXPECT_FALSE(keeps_alive(fields_of({{"Proxy-Connection", "close"}}), 1));
    EXPECT_TRUE(keeps_alive(fields_of({{"Proxy-Connection", "keep-alive"}}), 0));
}

// ---- is_websocket_upgrade ----

TEST(IsWebsocketUpgrade, RecognisesTheOpeningHandshake) {
    EXPECT_TRUE(is_websocket_upgrade(websocket_request()));
    auto mixed_case = websocket_request();
    mixed_case.fields = fields_of({{"Host", "h"}, {"connection", "UPGRADE"}, {"upgrade", "WebSocket"}});
    EXPECT_TRUE(is_websocket_upgrade(mixed_case));
}

TEST(IsWebsocketUpgrade, NeedsGetHttp11ConnectionUpgradeAndUpgradeWebsocket) {
    auto post = websocket_request();
    post.method = "POST";
    EXPECT_FALSE(is_websocket_upgrade(post));

    auto http10 = websocket_request();
    http10.version_minor = 0;
    EXPECT_FALSE(is_websocket_upgrade(http10));

    auto no_connection = websocket_request();
    no_connection.fields.remove("connection");
    EXPECT_FALSE(is_websocket_upgrade(no_connection));

    auto other_protocol = websocket_request();
    other_protocol.fields.remove("upgrade");
    other_protocol.fields.add("Upgrade", "h2c");
    EXPECT_FALSE(is_websocket_upgrade(other_protocol));

    auto no_upgrade = websocket_request();
    no_upgrade.fields.remove("upgrade");
    EXPECT_FALSE(is_websocket_upgrade(no_upgrade));
}

// ---- strip_hop_by_hop ----

TEST(StripHopByHop, RemovesStandardHopByHopFieldsAndKeepsEndToEndOnes) {
    auto fields = fields_of({{"Host", "h"},
                             {"Connection", "keep-alive"},
                             {"Keep-Alive", "timeout=5"},
                             {"Proxy-Connection", "keep-alive"},
                             {"TE", "trailers"},
                             {"Upgrade", "h2c"},
                             {"Proxy-Authorization", "Basic eDp5"},
                             {"Proxy-Authenticate", "Basic"},
                             {"Accept", "*/*"},
                             {"Cookie", "a=b"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"Host", "Accept", "Cookie"}));
}

TEST(StripHopByHop, RemovesFieldsNamedByConnectionWhateverTheirCase) {
    auto fields = fields_of({{"Connection", "X-Secret, x-other"},
                             {"connection", "  X-Third  "},
                             {"x-secret", "1"},
                             {"X-OTHER", "2"},
                             {"X-Third", "3"},
                             {"X-Kept", "4"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"X-Kept"}));
    EXPECT_EQ(*fields.find("x-kept"), "4");
}

TEST(StripHopByHop, ContentLengthAndTransferEncodingStayEvenWhenNamed) {
    auto fields = fields_of({{"Connection", "Content-Length, Transfer-Encoding"},
                             {"Content-Length", "5"},
                             {"Transfer-Encoding", "chunked"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"Content-Length", "Transfer-Encoding"}));
}

TEST(StripHopByHop, KeepsFieldOrderOfWhatRemains) {
    auto fields = fields_of({{"B", "1"}, {"Connection", "close"}, {"A", "2"}, {"C", "3"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"B", "A", "C"}));
}

TEST(StripHopByHop, UpgradeIsKeptOnlyForWebsocket) {
    auto plain = websocket_request().fields;
    strip_hop_by_hop(plain, false);
    EXPECT_EQ(plain.count("upgrade"), 0u);
    EXPECT_EQ(plain.count("connection"), 0u);
    EXPECT_EQ(plain.count("sec-websocket-key"), 1u);

    auto websocket = websocket_request().fields;
    strip_hop_by_hop(websocket, true);
    ASSERT_EQ(websocket.count("upgrade"), 1u);
    EXPECT_TRUE(websocket.has_token("upgrade", "websocket"));
    ASSERT_EQ(websocket.count("connection"), 1u);
    EXPECT_TRUE(websocket.has_token("connection", "upgrade"));
    // The client's other connection options do not travel with it.
    EXPECT_FALSE(websocket.has_token("connection", "keep-alive"));
    EXPECT_EQ(websocket.count("sec-websocket-key"), 1u);
}

TEST(StripHopByHop, NothingToStripLeavesFieldsUnchanged) {
    auto fields = fields_of({{"Host", "h"}, {"Accept", "*/*"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"Host", "Accept"}));
}

TEST(StripHopByHop, HostSurvivesEvenWhenConnectionNamesIt) {
    auto fields = fields_of({{"Host", "h"}, {"Connection", "Host, X-Private"}, {"X-Private", "1"}, {"Accept", "*/*"}});
    strip_hop_by_hop(fields, false);
    EXPECT_EQ(names(fields), (std::vector<std::string>{"Host", "Accept"}));
}

}  // namespace
}  // namespace mproxy::proxy
