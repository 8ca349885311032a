#include "proxy/upstream/loop_guard.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

tcp::endpoint at(const char* address, unsigned short port) { return {asio::ip::make_address(address), port}; }

TEST(LoopGuard, DefaultGuardMatchesNothing) {
    const LoopGuard guard;
    EXPECT_FALSE(guard.is_self(at("127.0.0.1", 0)));
    EXPECT_FALSE(guard.is_self(at("127.0.0.1", 8080)));
}

TEST(LoopGuard, SpecificAddressMatchesOnlyItselfOnItsPort) {
    const LoopGuard guard(at("127.0.0.1", 3128));
    EXPECT_TRUE(guard.is_self(at("127.0.0.1", 3128)));
    EXPECT_FALSE(guard.is_self(at("127.0.0.1", 3129)));
    EXPECT_FALSE(guard.is_self(at("127.0.0.2", 3128)));
    EXPECT_FALSE(guard.is_self(at("192.0.2.1", 3128)));
    EXPECT_FALSE(guard.is_self(at("::1", 3128)));
}

TEST(LoopGuard, V4MappedTargetMatchesTheV4ListenAddress) {
    const LoopGuard guard(at("127.0.0.1", 3128));
    EXPECT_TRUE(guard.is_self(at("::ffff:127.0.0.1", 3128)));
    EXPECT_FALSE(guard.is_self(at("::ffff:127.0.0.1", 3129)));
    EXPECT_FALSE(guard.is_self(at("::ffff:127.0.0.2", 3128)));
}

TEST(LoopGuard, V4MappedListenAddressMatchesPlainV4) {
    const LoopGuard guard(at("::ffff:127.0.0.1", 3128));
    EXPECT_TRUE(guard.is_self(at("127.0.0.1", 3128)));
}

TEST(LoopGuard, Ipv6ListenAddress) {
    const LoopGuard guard(at("::1", 3128));
    EXPECT_TRUE(guard.is_self(at("::1", 3128)));
    EXPECT_FALSE(guard.is_self(at("127.0.0.1", 3128)));
    EXPECT_FALSE(guard.is_self(at("::1", 80)));
}

TEST(LoopGuard, WildcardListenMatchesLoopbackOnlyOnItsPort) {
    // Every Linux host, container or not, has 127.0.0.1 on its loopback interface.
    const LoopGuard guard(at("0.0.0.0", 3128));
    EXPECT_TRUE(guard.is_self(at("127.0.0.1", 3128)));
    EXPECT_TRUE(guard.is_self(at("::ffff:127.0.0.1", 3128)));
    EXPECT_FALSE(guard.is_self(at("127.0.0.1", 3129)));
    EXPECT_FALSE(guard.is_self(at("192.0.2.1", 3128)));  // TEST-NET-1: never a local address
}

TEST(LoopGuard, ConnectingToTheUnspecifiedAddressReachesThisHost) {
    const LoopGuard guard(at("127.0.0.1", 3128));
    EXPECT_TRUE(guard.is_self(at("0.0.0.0", 3128)));
    EXPECT_TRUE(guard.is_self(at("::", 3128)));
    EXPECT_FALSE(guard.is_self(at("0.0.0.0", 3129)));
}

}  // namespace
}  // namespace mproxy::proxy
