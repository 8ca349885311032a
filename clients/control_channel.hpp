#pragma once
// Where mproxyctl connects and how it proves who it is: the connection flags, the bearer token
// (and where it came from, for the error when the server refuses it), and one gRPC channel per
// server address.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>

#include "clients/cli_error.hpp"

namespace mproxy::ctl {

struct ConnectionOptions {
    std::string server = "127.0.0.1:9090";  // --server, $MPROXY_SERVER
    std::string servers;                    // --servers A,B,C or dns:///name[:port]
    std::string token;                      // --token
    std::string token_file;                 // --token-file
    bool tls = false;
    std::string cacert;       // --cacert: trust this CA for the server's certificate
    std::string client_cert;  // --client-cert / --client-key: for servers that require one
    std::string client_key;
    std::string tls_server_name;  // --tls-server-name: the name to verify instead of the address
    double timeout_seconds = 10;
};

struct Token {
    std::string value;
    std::string source;  // "--token-file /path", "$MPROXY_TOKEN", ...
    std::string lookup;  // every place looked at, in order
};

// --token, else --token-file, else $MPROXY_TOKEN, else $XDG_STATE_HOME/mproxy/control-token (or
// var/mproxy/control-token): the same state directory mproxyd writes its token into. Throws
// CliError(exit_unauthenticated) naming every place when none holds a token.
Token find_token(const ConnectionOptions& options);

// The default token file: where mproxyd, started with its defaults from the same directory, keeps
// it.
std::string default_token_file();

class ControlChannel {
  public:
    ControlChannel(std::string address, const ConnectionOptions& options, const Token& token);

    const std::string& address() const { return address_; }
    const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
    // For a unary call: the token and a deadline of --timeout.
    std::unique_ptr<grpc::ClientContext> context() const;
    // For a stream that lasts as long as the operator wants: the token and no deadline.
    std::unique_ptr<grpc::ClientContext> stream_context() const;
    CallSite site() const { return {address_, token_source_, token_lookup_}; }

  private:
    std::string address_;
    std::shared_ptr<grpc::Channel> channel_;
    std::string authorization_;
    std::string token_source_;
    std::string token_lookup_;
    std::chrono::milliseconds timeout_;
};

// One unary call with the channel's token and deadline; throws the CliError its failure maps to.
template <class Service, class Request, class Reply>
Reply call(const ControlChannel& target,
           grpc::Status (Service::Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
           const Request& request) {
    auto stub = Service::NewStub(target.channel());
    auto context = target.context();
    Reply reply;
    check(((*stub).*method)(context.get(), request, &reply), target.site());
    return reply;
}

}  // namespace mproxy::ctl
