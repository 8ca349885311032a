#pragma once
// The standard gRPC health service (grpc.health.v1.Health/Check), which needs no token. Its stubs
// are not shipped with gRPC's headers, so the call goes through the generic stub with the two
// small messages encoded by hand.

#include <string>

#include "clients/control_channel.hpp"

namespace mproxy::ctl {

// "SERVING", "NOT_SERVING", "UNKNOWN", or "unreachable: <why>".
std::string check_health(const ControlChannel& replica);

}  // namespace mproxy::ctl
