#pragma once
// The mproxy.v1 services, one factory each; ControlServer registers them all.

#include <grpcpp/impl/service_type.h>

#include <memory>

#include "control/control_context.hpp"

namespace mproxy::control {

std::unique_ptr<grpc::Service> make_rules_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_flows_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_certificates_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_connections_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_traffic_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_server_service(ControlContext& context);

}  // namespace mproxy::control
