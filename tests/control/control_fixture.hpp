#pragma once
// The fixture of the control-plane tests: the proxy and its ControlServer in-process (both on
// ephemeral loopback ports, a fixed token), a TestOrigin, and gRPC stubs over a real channel.

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <filesystem>
#include <memory>
#include <string>

#include "control/control_server.hpp"
#include "mproxy/v1/certificates.grpc.pb.h"
#include "mproxy/v1/connections.grpc.pb.h"
#include "mproxy/v1/flows.grpc.pb.h"
#include "mproxy/v1/rules.grpc.pb.h"
#include "mproxy/v1/server.grpc.pb.h"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {

inline constexpr std::string_view test_token = "test-token-0123456789abcdef";

class ControlFixture : public ProxyFixture {
  protected:
    void SetUp() override;
    void TearDown() override;

    // A fresh state directory per test (rules.json, CA, token live there).
    proxy::ProxyConfig config() override;
    // Stops both servers and starts them again on the same state directory (a restart).
    void restart();
    // What the ControlServer is built with; tests may change it before restart().
    control::ControlConfig control_config;

    // A context carrying the token (or `token`, or none when empty), with a 10 s deadline.
    std::unique_ptr<grpc::ClientContext> call(std::string_view token = test_token) const;
    std::shared_ptr<grpc::Channel> channel() const { return channel_; }
    control::ControlServer& control() { return *control_; }
    const std::filesystem::path& state_dir() const { return state_dir_; }

    std::unique_ptr<v1::RulesService::Stub> rules;
    std::unique_ptr<v1::FlowsService::Stub> flows;
    std::unique_ptr<v1::CertificatesService::Stub> certificates;
    std::unique_ptr<v1::ConnectionsService::Stub> connections;
    std::unique_ptr<v1::TrafficService::Stub> traffic;
    std::unique_ptr<v1::ServerService::Stub> server;

  private:
    void start_control();

    std::filesystem::path state_dir_;
    std::unique_ptr<control::ControlServer> control_;
    std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace mproxy::test
