#pragma once
// The control plane's bearer token: where it comes from and how each call is checked.

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>

namespace mproxy::control {

struct TokenSettings {
    std::string token_file;  // read the token from here (trailing whitespace ignored)
    std::string env_var = "MPROXY_CONTROL_TOKEN";  // else from this variable, when set and non-empty
    std::string state_dir;   // else <state_dir>/control-token, created (0600) on first start
};

struct LoadedToken {
    std::string token;
    std::string source;  // "file /path", "environment MPROXY_CONTROL_TOKEN", "generated /path"
    bool generated = false;
};

// Throws std::runtime_error naming the file and the reason (unreadable, empty, too short).
LoadedToken load_or_create_token(const TokenSettings& settings);

class Authenticator {
public:
    explicit Authenticator(std::string token) : token_(std::move(token)) {}
    // OK, or UNAUTHENTICATED saying what was wrong (missing header, not Bearer, wrong token). The
    // comparison takes the same time whatever the offered token.
    grpc::Status check(const grpc::ServerContextBase& context) const;

private:
    std::string token_;
};

}  // namespace mproxy::control
