#include "tests/control/control_fixture.hpp"

#include <cstdlib>

namespace mproxy::test {

proxy::ProxyConfig ControlFixture::config() {
    auto config = default_config();
    if (state_dir_.empty()) {
        std::string pattern = (std::filesystem::temp_directory_path() / "mproxy-control-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        state_dir_ = pattern;
    }
    config.state_dir = state_dir_.string();
    return config;
}

void ControlFixture::SetUp() {
    control_config.listen = "127.0.0.1:0";
    control_config.token.env_var.clear();  // the environment of the test run must not leak in
    control_config.token.token_file.clear();
    ProxyFixture::SetUp();
    start_control();
}

void ControlFixture::start_control() {
    // The token file is how a fixed token gets in; the control server reads it like mproxyd would.
    const auto token_file = state_dir_ / "fixture-token";
    if (!std::filesystem::exists(token_file)) {
        FILE* f = std::fopen(token_file.c_str(), "w");
        std::fputs(std::string(test_token).c_str(), f);
        std::fclose(f);
    }
    if (control_config.token.token_file.empty()) control_config.token.token_file = token_file.string();
    control_ = std::make_unique<control::ControlServer>(control_config, proxy());
    control_->start();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(control_->port()), grpc::InsecureChannelCredentials());
    rules = v1::RulesService::NewStub(channel_);
    flows = v1::FlowsService::NewStub(channel_);
    certificates = v1::CertificatesService::NewStub(channel_);
    connections = v1::ConnectionsService::NewStub(channel_);
    traffic = v1::TrafficService::NewStub(channel_);
    server = v1::ServerService::NewStub(channel_);
}

void ControlFixture::restart() {
    control_.reset();
    start_proxy(config());
    start_control();
}

void ControlFixture::TearDown() {
    control_.reset();
    ProxyFixture::TearDown();
    std::error_code ignored;
    if (!state_dir_.empty()) std::filesystem::remove_all(state_dir_, ignored);
}

std::unique_ptr<grpc::ClientContext> ControlFixture::call(std::string_view token) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + std::string(token));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
}

}  // namespace mproxy::test
