#include "proxy/rules/connect_action.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

TEST(ConnectAction, EveryActionRoundTripsThroughItsName) {
    for (auto action : {ConnectAction::tunnel, ConnectAction::http, ConnectAction::reject}) {
        const auto parsed = parse_connect_action(to_string(action));
        ASSERT_TRUE(parsed) << to_string(action);
        EXPECT_EQ(*parsed, action);
    }
}

TEST(ConnectAction, NamesAreDistinct) {
    EXPECT_EQ(to_string(ConnectAction::tunnel), "tunnel");
    EXPECT_EQ(to_string(ConnectAction::http), "http");
    EXPECT_EQ(to_string(ConnectAction::reject), "reject");
}

TEST(ConnectAction, UnknownNamesAreRefused) {
    for (const char* text : {"", "Tunnel", "TUNNEL", " tunnel", "tunnel ", "intercept", "https", "rejected"})
        EXPECT_FALSE(parse_connect_action(text)) << "'" << text << "'";
}

}  // namespace
}  // namespace mproxy::proxy
