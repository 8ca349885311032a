#include "clients/cli_error.hpp"

namespace mproxy::ctl {

const char* const exit_codes_help =
    "Exit codes:\n"
    "  0  success\n"
    "  1  any other failure the server reported\n"
    "  2  usage: bad flags or arguments\n"
    "  3  server unreachable (or no answer within --timeout)\n"
    "  4  unauthenticated: no token, or the server refused it\n"
    "  5  invalid argument: the field at fault is named; or refused by the server\n"
    "  6  not found: unknown rule, flow or connection id\n"
    "  7  conflict: the id is taken, or the rule changed since it was read\n";

CliError error_from_status(const grpc::Status& status, const CallSite& site) {
    const std::string& detail = status.error_message();
    switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
            return {exit_unreachable, "cannot reach the server at " + site.address + ": " + detail};
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return {exit_unreachable,
                    "no answer from the server at " + site.address + " in time (--timeout)"};
        case grpc::StatusCode::UNAUTHENTICATED:
        case grpc::StatusCode::PERMISSION_DENIED:
            return {exit_unauthenticated, "unauthenticated: " + site.address +
                                              " refused the token from " + site.token_source +
                                              " (" + detail + "); token looked for in " +
                                              site.token_lookup};
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::OUT_OF_RANGE:
            return {exit_invalid_argument, "invalid argument: " + detail};
        case grpc::StatusCode::FAILED_PRECONDITION:  // a valid request this server cannot carry out
            return {exit_invalid_argument, "refused: " + detail};
        case grpc::StatusCode::NOT_FOUND:
            return {exit_not_found, "not found: " + detail};
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::ABORTED:
            return {exit_conflict, "conflict: " + detail};
        default:
            return {exit_failure, "the server at " + site.address + " answered " +
                                      std::to_string(static_cast<int>(status.error_code())) + ": " +
                                      detail};
    }
}

void check(const grpc::Status& status, const CallSite& site) {
    if (!status.ok()) throw error_from_status(status, site);
}

}  // namespace mproxy::ctl
