#include "proxy/rules/ip_network.hpp"

#include <algorithm>
#include <charconv>

namespace mproxy::proxy {

namespace ip = boost::asio::ip;

namespace {
std::optional<unsigned> parse_prefix(std::string_view text) {
    if (text.empty() || text.size() > 3) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::array<unsigned char, 16> bytes_of(const ip::address& address) {
    std::array<unsigned char, 16> bytes{};
    if (address.is_v4()) {
        const auto v4 = address.to_v4().to_bytes();
        std::copy(v4.begin(), v4.end(), bytes.begin());
    } else {
        bytes = address.to_v6().to_bytes();
    }
    return bytes;
}
}  // namespace

ip::address unmapped(const ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    return address;
}

std::optional<ip::address> endpoint_address(std::string_view endpoint) {
    if (!endpoint.empty() && endpoint.front() == '[') {
        const auto close = endpoint.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        endpoint = endpoint.substr(1, close - 1);
    } else if (const auto colon = endpoint.rfind(':');
               colon != std::string_view::npos && endpoint.find(':') == colon) {
        endpoint = endpoint.substr(0, colon);  // one colon: IPv4 with a port; more: a bare IPv6 address
    }
    boost::system::error_code ec;
    const auto address = ip::make_address(std::string(endpoint), ec);
    if (ec) return std::nullopt;
    return unmapped(address);
}

std::variant<IpNetwork, std::string> IpNetwork::parse(std::string_view text) {
    const auto slash = text.find('/');
    const std::string address_text(text.substr(0, slash));
    boost::system::error_code ec;
    const auto parsed = ip::make_address(address_text, ec);
    if (ec) return "\"" + address_text + "\" is not an IPv4 or IPv6 address";

    auto address = unmapped(parsed);
    unsigned prefix = address.is_v4() ? 32 : 128;
    if (slash != std::string_view::npos) {
        const auto given = parse_prefix(text.substr(slash + 1));
        // The prefix is read against the address as written: "::ffff:10.0.0.0/104" is 10.0.0.0/8.
        const unsigned written_max = parsed.is_v4() ? 32 : 128;
        if (!given || *given > written_max)
            return "prefix length \"" + std::string(text.substr(slash + 1)) + "\" is not 0.." +
                   std::to_string(written_max);
        prefix = *given;
        if (parsed.is_v6() && address.is_v4()) {
            if (prefix < 96) address = parsed;  // wider than the mapped block: an IPv6 network after all
            else prefix -= 96;
        }
    }

    IpNetwork network;
    network.v4_ = address.is_v4();
    network.prefix_ = prefix;
    network.bytes_ = bytes_of(address);
    for (std::size_t bit = prefix; bit < network.bytes_.size() * 8; ++bit)
        network.bytes_[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    return network;
}

bool IpNetwork::contains(const ip::address& address) const {
    const auto client = unmapped(address);
    if (v4_ != client.is_v4()) return false;
    const auto bytes = bytes_of(client);
    const std::size_t whole = prefix_ / 8;
    if (!std::equal(bytes.begin(), bytes.begin() + whole, bytes_.begin())) return false;
    const unsigned rest = prefix_ % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<unsigned char>(0xffu << (8 - rest));
    return (bytes[whole] & mask) == bytes_[whole];
}

}  // namespace mproxy::proxy
