#include "proxy/rules/connect_action.hpp"

namespace mproxy::proxy {

std::string_view to_string(ConnectAction action) {
    switch (action) {
        case ConnectAction::tunnel: return "tunnel";
        case ConnectAction::mitm: return "mitm";
        case ConnectAction::http: return "http";
        case ConnectAction::reject: return "reject";
    }
    return "unknown";
}

std::optional<ConnectAction> parse_connect_action(std::string_view text) {
    if (text == "tunnel") return ConnectAction::tunnel;
    if (text == "mitm") return ConnectAction::mitm;
    if (text == "http") return ConnectAction::http;
    if (text == "reject") return ConnectAction::reject;
    return std::nullopt;
}

}  // namespace mproxy::proxy
