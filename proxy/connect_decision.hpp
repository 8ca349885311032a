#pragma once
// The one place where a CONNECT's fate is decided. Today the configured default action decides;
// the rule set plugs in here, and the control plane's "explain" calls the same function, so what it
// explains is what the data plane does.

#include <string>

#include "proxy/authority.hpp"
#include "proxy/connect_action.hpp"
#include "proxy/asio_types.hpp"

namespace mproxy::proxy {

struct ConnectRequest {
    Authority target;
    asio::ip::address client;
};

struct ConnectDecision {
    ConnectAction action = ConnectAction::tunnel;
    unsigned reject_status = 403;
    std::string reason;  // why: which rule matched, or that the default applied
};

ConnectDecision decide_connect(const ConnectRequest& request, ConnectAction default_action);

}  // namespace mproxy::proxy
