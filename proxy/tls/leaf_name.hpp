#pragma once
// What a leaf certificate is for: a DNS name or an IP address, in one canonical spelling so that
// "Example.COM" and "example.com", or "::0:1" and "::1", share one cache entry and one leaf.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mproxy::proxy {

struct LeafName {
    enum class Kind { dns, ipv4, ipv6 };
    Kind kind = Kind::dns;
    // DNS: lower case, without a final dot. IP: as inet_ntop writes it.
    std::string text;
    // The address in network order for an IP (4 or 16 bytes used); unused for DNS.
    std::array<unsigned char, 16> address{};

    int address_length() const { return kind == Kind::ipv4 ? 4 : kind == Kind::ipv6 ? 16 : 0; }
};

// Null when `name` is neither an IP literal (no brackets, no zone) nor a plausible host name
// (labels of 1-63 letters, digits, '-' or '_', 253 characters at most). Wildcards are refused:
// a client never asks for one.
std::optional<LeafName> parse_leaf_name(std::string_view name);

}  // namespace mproxy::proxy
