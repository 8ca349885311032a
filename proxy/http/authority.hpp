#pragma once
// Where a request goes: the authority of a CONNECT (host:port) or of an absolute-form target
// (http://host[:port]/path). Pure parsing, fuzzed by tests/fuzz.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mproxy::proxy {

struct Authority {
    std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
    std::uint16_t port = 0;

    // "host:port", with brackets around an IPv6 address.
    std::string to_string() const;
    bool operator==(const Authority&) const = default;
};

// host:port as in a CONNECT request line (RFC 9112 section 3.2.3): the port is required.
std::optional<Authority> parse_connect_authority(std::string_view text);

// host[:port] with a default port, as in an absolute URI or a Host header.
std::optional<Authority> parse_authority(std::string_view text, std::uint16_t default_port);

struct AbsoluteTarget {
    Authority authority;
    std::string origin_form;  // path and query, "/" when the URI has none
};

// An http:// absolute-form request target. Userinfo and fragments are refused.
std::optional<AbsoluteTarget> parse_http_absolute_target(std::string_view target);

}  // namespace mproxy::proxy
