#pragma once
// The shape of every unary handler: authenticate, run the body, finish with its status. An
// exception from the body becomes INTERNAL with its message rather than a crashed server.

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <exception>

#include "control/auth.hpp"

namespace mproxy::control {

template <class Body>
grpc::ServerUnaryReactor* unary_call(grpc::CallbackServerContext* context, const Authenticator& auth, Body&& body) {
    auto* reactor = context->DefaultReactor();
    grpc::Status status = auth.check(*context);
    if (status.ok()) {
        try {
            status = body();
        } catch (const std::exception& e) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
        }
    }
    reactor->Finish(status);
    return reactor;
}

}  // namespace mproxy::control
