#pragma once
// The data plane's enums and their mproxy.v1 counterparts.

#include <optional>

#include "mproxy/v1/flows.pb.h"
#include "mproxy/v1/rules.pb.h"
#include "proxy/accounting/connection_registry.hpp"
#include "proxy/rules/connect_action.hpp"
#include "proxy/rules/rule.hpp"

namespace mproxy::control {

inline v1::Action to_proto(proxy::ConnectAction action) {
    switch (action) {
        case proxy::ConnectAction::tunnel: return v1::ACTION_TUNNEL;
        case proxy::ConnectAction::mitm: return v1::ACTION_MITM;
        case proxy::ConnectAction::http: return v1::ACTION_HTTP;
        case proxy::ConnectAction::reject: return v1::ACTION_REJECT;
    }
    return v1::ACTION_UNSPECIFIED;
}

inline std::optional<proxy::ConnectAction> from_proto(v1::Action action) {
    switch (action) {
        case v1::ACTION_TUNNEL: return proxy::ConnectAction::tunnel;
        case v1::ACTION_MITM: return proxy::ConnectAction::mitm;
        case v1::ACTION_HTTP: return proxy::ConnectAction::http;
        case v1::ACTION_REJECT: return proxy::ConnectAction::reject;
        default: return std::nullopt;
    }
}

inline v1::ExpectPolicy to_proto(proxy::ExpectPolicy policy) {
    switch (policy) {
        case proxy::ExpectPolicy::forward: return v1::EXPECT_POLICY_FORWARD;
        case proxy::ExpectPolicy::answer_locally: return v1::EXPECT_POLICY_ANSWER_LOCALLY;
        case proxy::ExpectPolicy::reject: return v1::EXPECT_POLICY_REJECT;
    }
    return v1::EXPECT_POLICY_FORWARD;
}

inline std::optional<proxy::ExpectPolicy> from_proto(v1::ExpectPolicy policy) {
    switch (policy) {
        case v1::EXPECT_POLICY_FORWARD: return proxy::ExpectPolicy::forward;
        case v1::EXPECT_POLICY_ANSWER_LOCALLY: return proxy::ExpectPolicy::answer_locally;
        case v1::EXPECT_POLICY_REJECT: return proxy::ExpectPolicy::reject;
        default: return std::nullopt;
    }
}

inline v1::ConnectionMode to_proto(proxy::ConnectionMode mode) {
    switch (mode) {
        case proxy::ConnectionMode::plain: return v1::CONNECTION_MODE_PLAIN;
        case proxy::ConnectionMode::tunnel: return v1::CONNECTION_MODE_TUNNEL;
        case proxy::ConnectionMode::http: return v1::CONNECTION_MODE_HTTP;
        case proxy::ConnectionMode::mitm: return v1::CONNECTION_MODE_MITM;
        case proxy::ConnectionMode::websocket: return v1::CONNECTION_MODE_WEBSOCKET;
        case proxy::ConnectionMode::rejected: return v1::CONNECTION_MODE_REJECTED;
    }
    return v1::CONNECTION_MODE_UNSPECIFIED;
}

}  // namespace mproxy::control
