// mproxyctl: drives mproxyd's control plane (rules, CA, flows, connections, status) over gRPC.

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <string>

#include "clients/command_context.hpp"

namespace {

const std::string overview =
    "mproxyctl: the operator's command line for mproxyd's control plane.\n"
    "Every command also takes the connection flags below, before or after it.";

const std::string environment_help =
    "Environment:\n"
    "  MPROXY_SERVER  the server address (as --server)\n"
    "  MPROXY_TOKEN   the control token (after --token and --token-file)\n"
    "  XDG_STATE_HOME the default token file is $XDG_STATE_HOME/mproxy/control-token, else\n"
    "                 var/mproxy/control-token: where mproxyd keeps it when started from here\n";

void add_connection_flags(CLI::App& app, mproxy::ctl::CommandContext& context) {
    auto& c = context.connection;
    const std::string group = "Connection";
    app.add_option("--server", c.server, "The server's control address, HOST:PORT")
        ->envname("MPROXY_SERVER")
        ->capture_default_str()
        ->group(group);
    app.add_option(
           "--servers", c.servers,
           "Every replica of a fleet: A,B,C or dns:///NAME[:PORT] (each address NAME resolves to); "
           "answers are merged, each row tagged with its replica")
        ->group(group);
    app.add_option("--token", c.token, "The control token")->group(group);
    app.add_option("--token-file", c.token_file, "Read the control token from this file")
        ->group(group);
    app.add_flag("--tls", c.tls, "Speak TLS to the server")->group(group);
    app.add_option("--cacert", c.cacert,
                   "Trust this CA (PEM) for the server's certificate (with --tls)")
        ->group(group);
    app.add_option("--client-cert", c.client_cert,
                   "Present this certificate (PEM) to the server (with --tls)")
        ->group(group);
    app.add_option("--client-key", c.client_key, "The private key of --client-cert (PEM)")
        ->group(group);
    app.add_option("--tls-server-name", c.tls_server_name,
                   "Verify the server's certificate for this name")
        ->group(group);
    app.add_option("--timeout", c.timeout_seconds, "Seconds to wait for each answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(group);
    app.add_option("-o,--output", context.output,
                   "table (for people), json (one object per line) or yaml")
        ->check(CLI::IsMember({"table", "json", "yaml"}))
        ->capture_default_str()
        ->group("Output");
}

}  // namespace

int main(int argc, char** argv) {
    using namespace mproxy::ctl;
    std::signal(SIGPIPE,
                SIG_IGN);  // `mproxyctl flows watch | head` ends on a write error, not a signal
    CommandContext context;
    CLI::App app{overview, "mproxyctl"};
    app.set_version_flag("--version", std::string("mproxyctl ") + MPROXY_VERSION);
    app.footer(std::string(environment_help) + exit_codes_help);
    app.require_subcommand(1);
    app.fallthrough();  // connection and output flags after the command name too
    add_connection_flags(app, context);
    add_rules_commands(app, context);
    add_ca_commands(app, context);
    add_flows_commands(app, context);
    add_conns_commands(app, context);
    add_status_command(app, context);
    add_completion_command(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::string message = e.what();
        // With fallthrough, a misspelt command reaches the top as "a subcommand is required":
        // name the word that was not understood.
        const auto rest = app.remaining();
        if (e.get_name() == "RequiredError" && !rest.empty())
            message += ": \"" + rest.front() + "\" is no command or flag here";
        std::fprintf(stderr, "mproxyctl: usage: %s (see --help)\n", message.c_str());
        return exit_usage;
    }
    try {
        return context.action ? context.action() : exit_usage;
    } catch (const CliError& e) {
        std::fprintf(stderr, "mproxyctl: %s\n", e.what());
        return e.code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mproxyctl: %s\n", e.what());
        return exit_failure;
    }
}
