#pragma once
// Client networks as rules and filters write them ("10.0.0.0/8", "fd00::/8", a bare address), and
// the test whether an address lies in one. IPv4 and IPv6 are kept apart, so "::/0" does not take in
// every IPv4 client; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as IPv4 on both sides.

#include <array>
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mproxy::proxy {

boost::asio::ip::address unmapped(const boost::asio::ip::address& address);

// The address of an "ip:port" or "[ipv6]:port" endpoint (or of a bare address), unmapped.
std::optional<boost::asio::ip::address> endpoint_address(std::string_view endpoint);

class IpNetwork {
public:
    // A bare address is a host route. Host bits are cleared rather than refused, as most proxies'
    // ACLs do. A mapped network with a prefix of at least 96 is the IPv4 network it stands for.
    // On failure: a one-line reason.
    static std::variant<IpNetwork, std::string> parse(std::string_view text);

    bool contains(const boost::asio::ip::address& address) const;

private:
    bool v4_ = true;
    std::array<unsigned char, 16> bytes_{};  // host bits cleared; only the first 4 for IPv4
    unsigned prefix_ = 0;
};

}  // namespace mproxy::proxy
