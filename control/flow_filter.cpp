#include "control/flow_filter.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "control/enum_translation.hpp"

namespace mproxy::control {

namespace {

constexpr proxy::FlowEventKind all_kinds[] = {
    proxy::FlowEventKind::connection_opened, proxy::FlowEventKind::connection_closed,
    proxy::FlowEventKind::connect_decision,  proxy::FlowEventKind::request_head,
    proxy::FlowEventKind::interim_response,  proxy::FlowEventKind::response_head,
    proxy::FlowEventKind::exchange_done,     proxy::FlowEventKind::tls_failure,
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

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// The address part of "ip:port" or "[ipv6]:port"; IPv4-mapped IPv6 addresses count as IPv4, so a
// dual-stack listener's clients match IPv4 networks.
std::optional<boost::asio::ip::address> client_address(const std::string& client) {
    std::string_view text = client;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        text = text.substr(1, close - 1);
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos && text.find(':') == colon) {
        text = text.substr(0, colon);
    }
    boost::system::error_code error;
    auto address = boost::asio::ip::make_address(text, error);
    if (error) return std::nullopt;
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    return address;
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

bool host_glob_matches(std::string_view pattern, std::string_view host) {
    // Greedy with one backtrack point: the last '*' seen absorbs one more character on a mismatch.
    std::size_t p = 0, h = 0;
    std::size_t star = std::string_view::npos, star_h = 0;
    while (h < host.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == lower(host[h]))) {
            ++p;
            ++h;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            star_h = h;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            h = ++star_h;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

grpc::Status FlowFilter::compile(const v1::FlowFilter& message, FlowFilter& out) {
    FlowFilter filter;
    filter.host_glob_ = message.host_glob();
    std::transform(filter.host_glob_.begin(), filter.host_glob_.end(), filter.host_glob_.begin(), lower);

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
        const std::string& text = message.client_cidr();
        const auto slash = text.find('/');
        boost::system::error_code error;
        auto address = boost::asio::ip::make_address(text.substr(0, slash), error);
        if (error) return invalid("client_cidr", "\"" + text + "\" is not an address or network");
        if (address.is_v6() && address.to_v6().is_v4_mapped())
            address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
        Network network;
        network.v4 = address.is_v4();
        const unsigned width = network.v4 ? 32 : 128;
        network.prefix = width;
        if (slash != std::string::npos) {
            const char* first = text.data() + slash + 1;
            const char* last = text.data() + text.size();
            const auto [end, ec] = std::from_chars(first, last, network.prefix);
            if (ec != std::errc() || end != last || first == last || network.prefix > width)
                return invalid("client_cidr", "\"" + text + "\" has a bad prefix length (0.." +
                                                  std::to_string(width) + ")");
        }
        if (network.v4) {
            const auto bytes = address.to_v4().to_bytes();
            std::copy(bytes.begin(), bytes.end(), network.bytes.begin());
        } else {
            network.bytes = address.to_v6().to_bytes();
        }
        filter.client_network_ = network;
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

bool FlowFilter::contains(const Network& network, const std::string& client) {
    const auto address = client_address(client);
    if (!address || address->is_v4() != network.v4) return false;
    std::array<unsigned char, 16> bytes{};
    if (network.v4) {
        const auto v4 = address->to_v4().to_bytes();
        std::copy(v4.begin(), v4.end(), bytes.begin());
    } else {
        bytes = address->to_v6().to_bytes();
    }
    const unsigned whole = network.prefix / 8;
    if (!std::equal(bytes.begin(), bytes.begin() + whole, network.bytes.begin())) return false;
    const unsigned rest = network.prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff00u >> rest);
    return (bytes[whole] & mask) == (network.bytes[whole] & mask);
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
    if (!host_glob_.empty() && !host_glob_matches(host_glob_, event.host)) return false;
    if (client_network_ && !contains(*client_network_, event.client)) return false;
    return true;
}

}  // namespace mproxy::control
