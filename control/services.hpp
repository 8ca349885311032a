#pragma once
// The mproxy.v1 services, one factory each; ControlServer registers them all.

#include <grpcpp/impl/service_type.h>

#include <memory>

#include "control/control_context.hpp"

namespace mproxy::control {

// Implemented by a service whose calls can last (server streams): ControlServer::stop() asks it to
// end them, each with a status, before it shuts the server down, so that the shutdown does not
// wait out its deadline for them. Calls that start afterwards end at once.
class StreamingService {
public:
    virtual void finish_streams() = 0;

protected:
    ~StreamingService() = default;
};

std::unique_ptr<grpc::Service> make_rules_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_flows_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_certificates_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_connections_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_traffic_service(ControlContext& context);
std::unique_ptr<grpc::Service> make_server_service(ControlContext& context);

}  // namespace mproxy::control
