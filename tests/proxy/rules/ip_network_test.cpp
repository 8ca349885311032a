#include "proxy/rules/ip_network.hpp"

#include <gtest/gtest.h>

#include "proxy/rules/host_glob.hpp"

namespace mproxy::proxy {
namespace {

namespace ip = boost::asio::ip;

IpNetwork network(std::string_view text) {
    auto parsed = IpNetwork::parse(text);
    if (parsed.index() == 1) ADD_FAILURE() << text << ": " << std::get<1>(parsed);
    return std::get<0>(parsed);
}

TEST(IpNetwork, ContainsAddressesUnderItsPrefixOnly) {
    const auto ten = network("10.0.0.0/8");
    EXPECT_TRUE(ten.contains(ip::make_address("10.255.0.1")));
    EXPECT_FALSE(ten.contains(ip::make_address("11.0.0.1")));
    EXPECT_TRUE(network("10.1.2.3").contains(ip::make_address("10.1.2.3")));
    EXPECT_FALSE(network("10.1.2.3").contains(ip::make_address("10.1.2.4")));
    EXPECT_TRUE(network("10.1.2.3/8").contains(ip::make_address("10.9.9.9"))) << "host bits are cleared";
    EXPECT_TRUE(network("fd00::/8").contains(ip::make_address("fd12::1")));
}

TEST(IpNetwork, KeepsFamiliesApartButUnmapsIpv4) {
    EXPECT_FALSE(network("::/0").contains(ip::make_address("192.0.2.1")));
    EXPECT_TRUE(network("192.0.2.0/24").contains(ip::make_address("::ffff:192.0.2.7")));
    EXPECT_TRUE(network("::ffff:10.0.0.0/104").contains(ip::make_address("10.3.3.3")));
}

TEST(IpNetwork, RefusesWhatIsNotANetworkWithAReason) {
    for (const auto* text : {"10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/", "10.0.0.0/x"}) {
        const auto parsed = IpNetwork::parse(text);
        ASSERT_EQ(parsed.index(), 1u) << text;
        EXPECT_FALSE(std::get<1>(parsed).empty());
    }
}

TEST(EndpointAddress, ReadsIpv4AndBracketedIpv6EndpointsAndBareAddresses) {
    EXPECT_EQ(endpoint_address("192.0.2.1:443"), ip::make_address("192.0.2.1"));
    EXPECT_EQ(endpoint_address("[2001:db8::1]:8080"), ip::make_address("2001:db8::1"));
    EXPECT_EQ(endpoint_address("2001:db8::1"), ip::make_address("2001:db8::1"));
    EXPECT_EQ(endpoint_address("[::ffff:192.0.2.1]:1"), ip::make_address("192.0.2.1"));
    EXPECT_FALSE(endpoint_address("not-an-address:80"));
}

TEST(HostGlob, MatchesWholeHostsCaseInsensitively) {
    EXPECT_TRUE(host_glob_matches("*.Example.com", "api.example.COM"));
    EXPECT_FALSE(host_glob_matches("*.example.com", "example.com"));
    EXPECT_TRUE(host_glob_matches("a?c*", "abc"));
    EXPECT_FALSE(host_glob_matches("a?c", "ac"));
}

}  // namespace
}  // namespace mproxy::proxy
