#pragma once
// The gRPC control plane of one ProxyServer: its listener, token, rule store and services, plus the
// standard health service and server reflection.

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "control/auth.hpp"
#include "control/control_context.hpp"
#include "control/rule_store.hpp"
#include "control/traffic_sampler.hpp"
#include "proxy/proxy_server.hpp"

namespace mproxy::control {

struct ControlConfig {
    std::string listen = "127.0.0.1:9090";  // port 0: an ephemeral port, read back with port()
    TokenSettings token;                    // token.state_dir defaults to the proxy's state_dir
    // TLS on the control port when both are set; client certificates signed by tls_client_ca_file
    // are then required when it is set too.
    std::string tls_cert_file, tls_key_file, tls_client_ca_file;
    // Where rules persist; empty: <state_dir>/rules.json, or memory only without a state directory.
    std::string rules_file;
    std::vector<proxy::Rule> seed_rules;  // used when no rules file exists yet
    std::vector<ListenerInfo> other_listeners;  // reported by GetServerInfo (metrics, ...)
};

// The gRPC health service name that says whether this replica takes new proxy connections
// (Kubernetes readiness); "" says the process is alive.
inline constexpr std::string_view readiness_service = "mproxy.ready";

class ControlServer {
public:
    // Loads (or creates) the token and the rules, and publishes the rules to the proxy at once, so
    // construct it before the proxy accepts traffic. Throws std::runtime_error with the reason.
    ControlServer(ControlConfig config, proxy::ProxyServer& proxy);
    ~ControlServer();  // stop()

    // Binds and serves; throws std::runtime_error when the address cannot be bound.
    void start();
    void stop();

    int port() const { return port_; }
    const LoadedToken& token() const { return token_; }
    ControlContext& context() { return *context_; }
    RuleStore& rules() { return *rules_; }
    // Readiness (health service "mproxy.ready"): true once the proxy accepts, false while draining.
    void set_ready(bool ready);
    // Another listener of this process for GetServerInfo (metrics), known after start().
    void add_listener(ListenerInfo listener);

private:
    ControlConfig config_;
    proxy::ProxyServer& proxy_;
    LoadedToken token_;
    std::unique_ptr<Authenticator> auth_;
    std::unique_ptr<RuleStore> rules_;
    std::unique_ptr<TrafficSampler> traffic_;
    std::unique_ptr<ControlContext> context_;
    std::vector<std::unique_ptr<grpc::Service>> services_;
    std::unique_ptr<grpc::Server> server_;
    int port_ = 0;
    bool ready_ = true;
};

}  // namespace mproxy::control
