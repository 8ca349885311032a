#pragma once
// How mproxyctl fails: one line on stderr and an exit code that says which kind of failure it was,
// so that scripts can tell "the server is down" from "the rule is wrong".

#include <grpcpp/support/status.h>

#include <stdexcept>
#include <string>

namespace mproxy::ctl {

enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,           // any other failure the server reported
    exit_usage = 2,             // bad flags or arguments (before anything is sent)
    exit_unreachable = 3,       // no server at the address, or no answer in time
    exit_unauthenticated = 4,   // no token, or the server refused it
    exit_invalid_argument = 5,  // the server (or a rule file) refused a field; the message names it
    exit_not_found = 6,         // unknown rule, flow or connection id
    exit_conflict = 7,          // the id is taken, or the rule changed since it was read
};

// The exit codes as the help and the README list them.
extern const char* const exit_codes_help;

class CliError : public std::runtime_error {
  public:
    CliError(ExitCode code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

  private:
    ExitCode code_;
};

// What the caller knows about the call, for the message: the address, and where the token came
// from.
struct CallSite {
    std::string address;
    std::string token_source;
    std::string token_lookup;  // every place the token was looked for
};

// A failed call as the error mproxyctl reports; `status` must not be ok.
CliError error_from_status(const grpc::Status& status, const CallSite& site);

// Throws error_from_status unless `status` is ok.
void check(const grpc::Status& status, const CallSite& site);

}  // namespace mproxy::ctl
