#include "proxy/tls/leaf_name.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace mproxy::proxy {

namespace {

constexpr std::size_t max_dns_name = 253;
constexpr std::size_t max_label = 63;

std::optional<LeafName> parse_ip(const std::string& text) {
    LeafName name;
    if (inet_pton(AF_INET, text.c_str(), name.address.data()) == 1) {
        name.kind = LeafName::Kind::ipv4;
    } else if (inet_pton(AF_INET6, text.c_str(), name.address.data()) == 1) {
        name.kind = LeafName::Kind::ipv6;
    } else {
        return std::nullopt;
    }
    std::array<char, INET6_ADDRSTRLEN> canonical{};
    const int family = name.kind == LeafName::Kind::ipv4 ? AF_INET : AF_INET6;
    if (inet_ntop(family, name.address.data(), canonical.data(), canonical.size()) == nullptr)
        return std::nullopt;
    name.text = canonical.data();
    return name;
}

bool is_label_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_dns_name(std::string_view text) {
    if (text.empty() || text.size() > max_dns_name) return false;
    std::size_t label = 0;
    for (const char c : text) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (!is_label_character(c) || ++label > max_label) {
            return false;
        }
    }
    return label != 0;
}

}  // namespace

std::optional<LeafName> parse_leaf_name(std::string_view name) {
    std::string text(name);
    if (text.find('\0') != std::string::npos) return std::nullopt;
    if (auto ip = parse_ip(text)) return ip;

    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (!text.empty() && text.back() == '.') text.pop_back();  // "example.com." is example.com
    if (!is_dns_name(text)) return std::nullopt;
    LeafName dns;
    dns.text = std::move(text);
    return dns;
}

}  // namespace mproxy::proxy
