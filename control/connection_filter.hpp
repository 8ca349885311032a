#pragma once
// Which live connections a ListConnections or CloseConnections request means: the proto filter
// validated once into plain data, then matched against registry snapshots.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "control/enum_translation.hpp"
#include "mproxy/v1/connections.pb.h"
#include "proxy/accounting/connection_registry.hpp"
#include "proxy/rules/host_glob.hpp"
#include "proxy/rules/ip_network.hpp"

namespace mproxy::control {

namespace connection_filter_detail {

// The host of "host:port" or "[v6]:port", brackets removed.
inline std::string_view target_host(std::string_view target) {
    if (target.starts_with('[')) {
        const auto close = target.find(']');
        return close == std::string_view::npos ? target.substr(1) : target.substr(1, close - 1);
    }
    const auto colon = target.rfind(':');
    return colon == std::string_view::npos ? target : target.substr(0, colon);
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
            auto network = proxy::IpNetwork::parse(proto.client_cidr());
            if (network.index() == 1)
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    field + ".client_cidr: \"" + proto.client_cidr() +
                                        "\" is not an address or a network like 10.0.0.0/8 or fd00::/8 (" +
                                        std::get<1>(network) + ")");
            filter.network_ = std::get<0>(network);
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
        return target_glob_.empty() && !network_ && modes_.empty() &&
               min_bytes_ == 0;
    }

    bool matches(const proxy::ConnectionSnapshot& connection) const {
        using namespace connection_filter_detail;
        if (!target_glob_.empty() &&
            (connection.target.empty() || !proxy::host_glob_matches(target_glob_, target_host(connection.target))))
            return false;
        if (network_ && !client_in_network(connection.client_ip))
            return false;
        if (!modes_.empty() && std::find(modes_.begin(), modes_.end(), to_proto(connection.mode)) == modes_.end())
            return false;
        return connection.client_rx + connection.client_tx >= min_bytes_;
    }

private:
    bool client_in_network(const std::string& client_ip) const {
        const auto address = proxy::endpoint_address(client_ip);
        return address && network_->contains(*address);
    }

    std::string target_glob_;
    std::optional<proxy::IpNetwork> network_;
    std::vector<v1::ConnectionMode> modes_;
    std::uint64_t min_bytes_ = 0;
};

}  // namespace mproxy::control
