#include "proxy/connect_decision.hpp"

namespace mproxy::proxy {

ConnectDecision decide_connect(const ConnectRequest& /*request*/, ConnectAction default_action) {
    ConnectDecision decision;
    decision.action = default_action;
    decision.reason = "default action " + std::string(to_string(default_action));
    return decision;
}

}  // namespace mproxy::proxy
