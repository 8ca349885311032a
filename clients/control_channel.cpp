#include "clients/control_channel.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace mproxy::ctl {

namespace {

// A watch that lost its server retries often: gRPC's default reconnect backoff grows to two
// minutes.
constexpr int initial_reconnect_backoff_ms = 200;
constexpr int max_reconnect_backoff_ms = 2000;

std::string read_whole_file(const std::string& path, const std::string& flag) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError(exit_usage, "cannot read " + flag + " " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string trimmed(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    std::size_t start = 0;
    while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
    return text.substr(start);
}

std::optional<std::string> read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return trimmed(text.str());
}

std::shared_ptr<grpc::ChannelCredentials> credentials(const ConnectionOptions& options) {
    if (!options.tls) return grpc::InsecureChannelCredentials();
    grpc::SslCredentialsOptions ssl;
    if (!options.cacert.empty()) ssl.pem_root_certs = read_whole_file(options.cacert, "--cacert");
    if (options.client_cert.empty() != options.client_key.empty())
        throw CliError(exit_usage, "--client-cert and --client-key go together");
    if (!options.client_cert.empty()) {
        ssl.pem_cert_chain = read_whole_file(options.client_cert, "--client-cert");
        ssl.pem_private_key = read_whole_file(options.client_key, "--client-key");
    }
    return grpc::SslCredentials(ssl);
}

}  // namespace

std::string default_token_file() {
    const char* xdg_state = std::getenv("XDG_STATE_HOME");
    const std::string dir =
        xdg_state && *xdg_state ? std::string(xdg_state) + "/mproxy" : "var/mproxy";
    return std::filesystem::absolute(dir + "/control-token").lexically_normal().string();
}

Token find_token(const ConnectionOptions& options) {
    const std::string fallback = default_token_file();
    const std::string lookup = "--token, --token-file, $MPROXY_TOKEN, " + fallback;
    if (!options.token.empty()) return {options.token, "--token", lookup};
    if (!options.token_file.empty()) {
        auto token = read_token_file(options.token_file);
        if (!token)
            throw CliError(exit_unauthenticated,
                           "cannot read the token file " + options.token_file + " (--token-file)");
        if (token->empty())
            throw CliError(exit_unauthenticated,
                           "the token file " + options.token_file + " is empty");
        return {*token, "--token-file " + options.token_file, lookup};
    }
    if (const char* env = std::getenv("MPROXY_TOKEN"); env && *env)
        return {trimmed(env), "$MPROXY_TOKEN", lookup};
    auto token = read_token_file(fallback);
    if (!token || token->empty()) {
        throw CliError(
            exit_unauthenticated,
            "unauthenticated: no control token; looked for " + lookup +
                " (mproxyd writes <state-dir>/control-token at first start: pass --token-file)");
    }
    return {*token, fallback, lookup};
}

ControlChannel::ControlChannel(std::string address, const ConnectionOptions& options,
                               const Token& token)
    : address_(std::move(address)),
      authorization_("Bearer " + token.value),
      token_source_(token.source),
      token_lookup_(token.lookup),
      timeout_(static_cast<long long>(options.timeout_seconds * 1000)) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_reconnect_backoff_ms);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_reconnect_backoff_ms);
    if (!options.tls_server_name.empty())
        arguments.SetSslTargetNameOverride(options.tls_server_name);
    channel_ = grpc::CreateCustomChannel(address_, credentials(options), arguments);
}

std::unique_ptr<grpc::ClientContext> ControlChannel::context() const {
    auto context = stream_context();
    context->set_deadline(std::chrono::system_clock::now() + timeout_);
    return context;
}

std::unique_ptr<grpc::ClientContext> ControlChannel::stream_context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", authorization_);
    return context;
}

}  // namespace mproxy::ctl
