#include "proxy/http/authority.hpp"

#include <charconv>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

namespace {

bool valid_reg_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (unsigned char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

bool valid_ipv6_literal(std::string_view host) {
    if (host.size() < 2) return false;
    for (unsigned char c : host) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                        c == ':' || c == '.';
        if (!ok) return false;
    }
    return host.find(':') != std::string_view::npos;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// host [":" port]; `port_required` for CONNECT.
std::optional<Authority> parse_host_port(std::string_view text, std::optional<std::uint16_t> default_port) {
    Authority a;
    std::string_view port_text;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const auto host = text.substr(1, close - 1);
        if (!valid_ipv6_literal(host)) return std::nullopt;
        a.host = std::string(host);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = text.rfind(':');
        const auto host = text.substr(0, colon);
        if (!valid_reg_name(host)) return std::nullopt;
        a.host = std::string(host);
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
            has_port = true;
        }
    }
    if (has_port) {
        const auto port = parse_port(port_text);
        if (!port) return std::nullopt;
        a.port = *port;
    } else if (default_port) {
        a.port = *default_port;
    } else {
        return std::nullopt;
    }
    return a;
}

}  // namespace

std::string Authority::to_string() const {
    std::string out;
    const bool v6 = host.find(':') != std::string::npos;
    if (v6) out += '[';
    out += host;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

std::optional<Authority> parse_connect_authority(std::string_view text) {
    return parse_host_port(text, std::nullopt);
}

std::optional<Authority> parse_authority(std::string_view text, std::uint16_t default_port) {
    return parse_host_port(text, default_port);
}

std::optional<AbsoluteTarget> parse_http_absolute_target(std::string_view target) {
    constexpr std::string_view scheme = "http://";
    if (target.size() < scheme.size() || !iequals(target.substr(0, scheme.size()), scheme))
        return std::nullopt;
    target.remove_prefix(scheme.size());
    const auto path_start = target.find_first_of("/?#");
    const auto authority_text = target.substr(0, path_start);
    if (authority_text.find('@') != std::string_view::npos) return std::nullopt;
    auto authority = parse_authority(authority_text, 80);
    if (!authority) return std::nullopt;

    AbsoluteTarget out{std::move(*authority), "/"};
    if (path_start != std::string_view::npos) {
        const auto rest = target.substr(path_start);
        if (rest.find('#') != std::string_view::npos) return std::nullopt;
        out.origin_form = rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
    }
    return out;
}

}  // namespace mproxy::proxy
