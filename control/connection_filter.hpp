#pragma once
// Which live connections a ListConnections or CloseConnections request means: the proto filter
// validated once into plain data, then matched against registry snapshots.

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <grpcpp/support/status.h>

#include "control/enum_translation.hpp"
#include "mproxy/v1/connections.pb.h"
#include "proxy/connection_registry.hpp"

namespace mproxy::control {

namespace connection_filter_detail {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// '*' any run of characters (dots too), '?' exactly one, over the whole host, ASCII case folded.
// One backtrack point, so never exponential.
inline bool glob_matches(std::string_view pattern, std::string_view host) {
    std::size_t p = 0, h = 0;
    std::size_t star = std::string_view::npos, resume = 0;
    while (h < host.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = h;
        } else if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(host[h]))) {
            ++p;
            ++h;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            h = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

// The host of "host:port" or "[v6]:port", brackets removed.
inline std::string_view target_host(std::string_view target) {
    if (target.starts_with('[')) {
        const auto close = target.find(']');
        return close == std::string_view::npos ? target.substr(1) : target.substr(1, close - 1);
    }
    const auto colon = target.rfind(':');
    return colon == std::string_view::npos ? target : target.substr(0, colon);
}

// IPv4-mapped IPv6 (::ffff:a.b.c.d) is its IPv4 address, on both sides of a comparison.
inline boost::asio::ip::address unmapped(const boost::asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    return address;
}

}  // namespace connection_filter_detail

class ConnectionFilter {
public:
    // INVALID_ARGUMENT naming the field (under `field`, e.g. "filter.client_cidr") when the filter
    // cannot be understood.
    static grpc::Status parse(const v1::ConnectionFilter& proto, const std::string& field, ConnectionFilter& out) {
        ConnectionFilter filter;
        filter.target_glob_ = proto.target_glob();
        if (filter.target_glob_.size() >= 2 && filter.target_glob_.front() == '[' && filter.target_glob_.back() == ']')
            filter.target_glob_ = filter.target_glob_.substr(1, filter.target_glob_.size() - 2);
        if (!proto.client_cidr().empty()) {
            auto network = parse_network(proto.client_cidr());
            if (!network)
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    field + ".client_cidr: \"" + proto.client_cidr() +
                                        "\" is not an address or a network like 10.0.0.0/8 or fd00::/8");
            filter.network_ = *network;
        }
        for (int i = 0; i < proto.modes_size(); ++i) {
            const auto mode = proto.modes(i);
            if (mode == v1::CONNECTION_MODE_UNSPECIFIED || !v1::ConnectionMode_IsValid(mode))
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    field + ".modes[" + std::to_string(i) + "]: not a connection mode");
            filter.modes_.push_back(static_cast<v1::ConnectionMode>(mode));
        }
        filter.min_bytes_ = proto.min_bytes();
        out = std::move(filter);
        return grpc::Status::OK;
    }

    // No condition at all: every connection matches.
    bool empty() const {
        return target_glob_.empty() && std::holds_alternative<std::monostate>(network_) && modes_.empty() &&
               min_bytes_ == 0;
    }

    bool matches(const proxy::ConnectionSnapshot& connection) const {
        using namespace connection_filter_detail;
        if (!target_glob_.empty() &&
            (connection.target.empty() || !glob_matches(target_glob_, target_host(connection.target))))
            return false;
        if (!std::holds_alternative<std::monostate>(network_) && !client_in_network(connection.client_ip))
            return false;
        if (!modes_.empty() && std::find(modes_.begin(), modes_.end(), to_proto(connection.mode)) == modes_.end())
            return false;
        return connection.client_rx + connection.client_tx >= min_bytes_;
    }

private:
    using Network = std::variant<std::monostate, boost::asio::ip::network_v4, boost::asio::ip::network_v6>;

    // "a.b.c.d/n", "v6/n", or a bare address (a /32 or /128). A mapped IPv6 network with a
    // prefix of at least 96 becomes the IPv4 network it stands for.
    static std::optional<Network> parse_network(const std::string& text) {
        namespace ip = boost::asio::ip;
        const auto slash = text.find('/');
        boost::system::error_code ec;
        auto address = connection_filter_detail::unmapped(ip::make_address(text.substr(0, slash), ec));
        if (ec) return std::nullopt;
        const unsigned max_prefix = address.is_v4() ? 32 : 128;
        unsigned prefix = max_prefix;
        if (slash != std::string::npos) {
            const auto digits = text.substr(slash + 1);
            if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
                return std::nullopt;
            prefix = static_cast<unsigned>(std::stoul(digits));
            const bool was_mapped = address.is_v4() && text.find(':') != std::string::npos;
            if (was_mapped) {
                if (prefix > 128 || prefix < 96) return std::nullopt;
                prefix -= 96;
            }
            if (prefix > max_prefix) return std::nullopt;
        }
        if (address.is_v4()) return Network{ip::make_network_v4(address.to_v4(), prefix).canonical()};
        return Network{ip::make_network_v6(address.to_v6(), prefix).canonical()};
    }

    bool client_in_network(const std::string& client_ip) const {
        namespace ip = boost::asio::ip;
        boost::system::error_code ec;
        const auto address = connection_filter_detail::unmapped(ip::make_address(client_ip, ec));
        if (ec) return false;
        if (const auto* v4 = std::get_if<ip::network_v4>(&network_))
            return address.is_v4() && ip::make_network_v4(address.to_v4(), v4->prefix_length()).canonical() == *v4;
        const auto& v6 = std::get<ip::network_v6>(network_);
        return address.is_v6() && ip::make_network_v6(address.to_v6(), v6.prefix_length()).canonical() == v6;
    }

    std::string target_glob_;
    Network network_;
    std::vector<v1::ConnectionMode> modes_;
    std::uint64_t min_bytes_ = 0;
};

}  // namespace mproxy::control
