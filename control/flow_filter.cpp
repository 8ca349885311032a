#include "control/flow_filter.hpp"

#include <algorithm>

#include "control/enum_translation.hpp"
#include "proxy/rules/host_glob.hpp"

namespace mproxy::control {

namespace {

constexpr proxy::FlowEventKind all_kinds[] = {
    proxy::FlowEventKind::connection_opened, proxy::FlowEventKind::connection_closed,
    proxy::FlowEventKind::connect_decision,  proxy::FlowEventKind::request_head,
    proxy::FlowEventKind::interim_response,  proxy::FlowEventKind::response_head,
    proxy::FlowEventKind::exchange_done,     proxy::FlowEventKind::tls_failure,
    proxy::FlowEventKind::websocket_message,
};

constexpr proxy::ConnectionMode all_modes[] = {
    proxy::ConnectionMode::plain, proxy::ConnectionMode::tunnel,    proxy::ConnectionMode::http,
    proxy::ConnectionMode::mitm,  proxy::ConnectionMode::websocket, proxy::ConnectionMode::rejected,
};

std::uint32_t bit(proxy::FlowEventKind kind) { return 1u << static_cast<unsigned>(kind); }
std::uint32_t bit(proxy::ConnectionMode mode) { return 1u << static_cast<unsigned>(mode); }

grpc::Status invalid(const std::string& field, const std::string& message) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "filter." + field + ": " + message};
}

std::string indexed(std::string_view name, int index) {
    return std::string(name) + "[" + std::to_string(index) + "]";
}

// Bytes an event accounts for: an exchange's request and response, a connection's client side
// (its upstream side carries the same payload again, so adding it would count it twice).
std::optional<std::uint64_t> carried_bytes(const proxy::FlowEvent& event) {
    switch (event.kind) {
        case proxy::FlowEventKind::exchange_done: return event.request_bytes + event.response_bytes;
        case proxy::FlowEventKind::connection_closed: return event.client_rx + event.client_tx;
        default: return std::nullopt;
    }
}

}  // namespace

grpc::Status FlowFilter::compile(const v1::FlowFilter& message, FlowFilter& out) {
    FlowFilter filter;
    filter.host_glob_ = message.host_glob();

    for (int i = 0; i < message.methods_size(); ++i) {
        if (message.methods(i).empty()) return invalid(indexed("methods", i), "empty method name");
        filter.methods_.push_back(message.methods(i));
    }

    filter.status_min_ = message.status_min();
    filter.status_max_ = message.status_max();
    if (filter.status_max_ != 0 && filter.status_min_ > filter.status_max_)
        return invalid("status_min", std::to_string(filter.status_min_) + " is above status_max " +
                                         std::to_string(filter.status_max_));

    for (int i = 0; i < message.modes_size(); ++i) {
        const auto wanted = message.modes(i);
        const auto* mode = std::find_if(std::begin(all_modes), std::end(all_modes),
                                        [&](proxy::ConnectionMode m) { return to_proto(m) == wanted; });
        if (mode == std::end(all_modes))
            return invalid(indexed("modes", i), "not a connection mode: " + std::to_string(wanted));
        filter.modes_ |= bit(*mode);
    }

    if (!message.client_cidr().empty()) {
        auto network = proxy::IpNetwork::parse(message.client_cidr());
        if (network.index() == 1)
            return invalid("client_cidr", "\"" + message.client_cidr() + "\" is not an address or network: " +
                                              std::get<1>(network));
        filter.client_network_ = std::get<0>(network);
    }

    filter.connection_id_ = message.connection_id();
    filter.min_bytes_ = message.min_bytes();

    for (int i = 0; i < message.kinds_size(); ++i) {
        const auto* kind = std::find_if(std::begin(all_kinds), std::end(all_kinds), [&](proxy::FlowEventKind k) {
            return proxy::to_string(k) == message.kinds(i);
        });
        if (kind == std::end(all_kinds))
            return invalid(indexed("kinds", i), "unknown event kind \"" + message.kinds(i) +
                                                    "\" (connection_opened, connection_closed, connect_decision, "
                                                    "request_head, interim_response, response_head, exchange_done, "
                                                    "tls_failure)");
        filter.kinds_ |= bit(*kind);
    }

    out = std::move(filter);
    return grpc::Status::OK;
}

bool FlowFilter::passes_kind(proxy::FlowEventKind kind) const { return kinds_ == 0 || (kinds_ & bit(kind)) != 0; }

bool FlowFilter::passes(const proxy::FlowEvent& event) const {
    if (!passes_kind(event.kind)) return false;
    if (connection_id_ != 0 && event.connection_id != connection_id_) return false;
    if (modes_ != 0 && (modes_ & bit(event.mode)) == 0) return false;
    if (!methods_.empty() && std::find(methods_.begin(), methods_.end(), event.method) == methods_.end()) return false;
    if (status_min_ != 0 || status_max_ != 0) {
        if (event.status == 0 || event.status < status_min_) return false;
        if (status_max_ != 0 && event.status > status_max_) return false;
    }
    if (min_bytes_ != 0) {
        const auto bytes = carried_bytes(event);
        if (!bytes || *bytes < min_bytes_) return false;
    }
    if (!host_glob_.empty() && !proxy::host_glob_matches(host_glob_, event.host)) return false;
    if (client_network_) {
        const auto address = proxy::endpoint_address(event.client);
        if (!address || !client_network_->contains(*address)) return false;
    }
    return true;
}

}  // namespace mproxy::control
