#include "control/control_server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <stdexcept>

#include "control/services.hpp"
#include "proxy/state/small_file.hpp"

namespace mproxy::control {

namespace {
std::string random_log_id() {
    unsigned char bytes[8];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for the flow log id");
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (auto b : bytes) {
        id += hex[b >> 4];
        id += hex[b & 15];
    }
    return id;
}

std::string rules_file_for(const ControlConfig& config, const proxy::ProxyConfig& proxy) {
    if (!config.rules_file.empty()) return config.rules_file;
    if (proxy.state_dir.empty()) return {};
    return proxy.state_dir + "/rules.json";
}

std::shared_ptr<grpc::ServerCredentials> credentials_for(const ControlConfig& config) {
    if (config.tls_cert_file.empty() && config.tls_key_file.empty()) return grpc::InsecureServerCredentials();
    if (config.tls_cert_file.empty() || config.tls_key_file.empty())
        throw std::runtime_error("control TLS needs both a certificate and a key file");
    grpc::SslServerCredentialsOptions options(
        config.tls_client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_key_cert_pairs.push_back(
        {proxy::read_small_file(config.tls_key_file, 1 << 20), proxy::read_small_file(config.tls_cert_file, 1 << 20)});
    if (!config.tls_client_ca_file.empty()) options.pem_root_certs = proxy::read_small_file(config.tls_client_ca_file, 1 << 20);
    return grpc::SslServerCredentials(options);
}
}  // namespace

ControlServer::ControlServer(ControlConfig config, proxy::ProxyServer& proxy)
    : config_(std::move(config)), proxy_(proxy) {
    // The CA first: loading it creates the state directory (0700) the token and rules live in,
    // and a bad CA is reported before anything else.
    proxy.interception();
    if (const auto& dir = proxy.config().state_dir; !dir.empty() && !std::filesystem::is_directory(dir)) {
        std::filesystem::create_directories(dir);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    }
    auto token_settings = config_.token;
    if (token_settings.state_dir.empty()) token_settings.state_dir = proxy.config().state_dir;
    token_ = load_or_create_token(token_settings);
    auth_ = std::make_unique<Authenticator>(token_.token);
    rules_ = std::make_unique<RuleStore>(proxy.rules(), proxy.config().connect_action,
                                         rules_file_for(config_, proxy.config()), config_.seed_rules);
    traffic_ = std::make_unique<TrafficSampler>(proxy.connections());
    context_ = std::make_unique<ControlContext>(proxy, *rules_, *auth_, *traffic_, random_log_id());
    context_->set_listeners(config_.other_listeners);
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
    if (server_) return;
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    services_.push_back(make_rules_service(*context_));
    services_.push_back(make_flows_service(*context_));
    services_.push_back(make_certificates_service(*context_));
    services_.push_back(make_connections_service(*context_));
    services_.push_back(make_traffic_service(*context_));
    services_.push_back(make_server_service(*context_));

    grpc::ServerBuilder builder;
    // gRPC binds with SO_REUSEPORT by default, so a second mproxyd on the same control port would
    // start and share it silently; a taken port must be an error.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort(config_.listen, credentials_for(config_), &port_);
    for (auto& service : services_) builder.RegisterService(service.get());
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
        server_.reset();
        services_.clear();
        throw std::runtime_error("cannot listen on " + config_.listen + " for the control plane (address taken or invalid)");
    }
    // Health: "" answers SERVING while the process runs (liveness); the readiness service says
    // whether the proxy takes new connections (set_ready).
    server_->GetHealthCheckService()->SetServingStatus(std::string(readiness_service), ready_);
    // The proxy and control addresses are known only now that both are bound; a restart of the
    // control server builds the list afresh.
    const auto host = config_.listen.substr(0, config_.listen.rfind(':'));
    const auto proxy_endpoint = proxy_.endpoint();
    std::vector<ListenerInfo> listeners{
        {"proxy", proxy::Authority{proxy_endpoint.address().to_string(), proxy_endpoint.port()}.to_string()},
        {"control", host + ":" + std::to_string(port_)}};
    listeners.insert(listeners.end(), config_.other_listeners.begin(), config_.other_listeners.end());
    context_->set_listeners(std::move(listeners));
}

void ControlServer::add_listener(ListenerInfo listener) {
    config_.other_listeners.push_back(listener);  // kept for a restart of the control server
    auto listeners = context_->listeners();
    listeners.push_back(std::move(listener));
    context_->set_listeners(std::move(listeners));
}

void ControlServer::set_ready(bool ready) {
    ready_ = ready;
    if (server_) server_->GetHealthCheckService()->SetServingStatus(std::string(readiness_service), ready);
}

void ControlServer::stop() {
    if (!server_) return;
    // Open WatchFlows streams are ended first, so the shutdown need not wait for them; the deadline
    // still bounds the wait for a call that cannot finish (a write a client never takes).
    for (auto& service : services_)
        if (auto* streaming = dynamic_cast<StreamingService*>(service.get())) streaming->finish_streams();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
    services_.clear();
}

}  // namespace mproxy::control
