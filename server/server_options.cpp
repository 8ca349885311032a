#include "server/server_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <thread>

#include "control/rule_translation.hpp"
#include "proxy/http/authority.hpp"
#include "server/config_file.hpp"

namespace mproxy::server {

namespace {

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

// Values the flags are read into before they become the configurations.
struct RawFlags {
    bool refuse_trace = false;
    std::string listen = "127.0.0.1:8080";
    std::string connect_action = "tunnel";
    double connect_timeout = 10, header_timeout = 30, idle_timeout = 300;
    double connection_grace = 30, drain_timeout = 30, max_lifetime = 0, capture_max_age = 0;
    std::uint64_t capture_body_bytes = 0;
    std::string log_format = "text";
};

void add_flags(CLI::App& app, ServerOptions& options, RawFlags& raw) {
    auto& p = options.proxy;
    app.set_version_flag("--version", "mproxyd 0.1.0");
    app.add_option("--config", options.config_file,
                   "Configuration file (YAML or JSON, keys of proto/mproxy/v1/config.proto); flags "
                   "win over it; "
                   "reloaded on SIGHUP and when it changes");
    app.add_option("--listen", raw.listen, "Proxy listen address, HOST:PORT ([v6]:PORT for IPv6)")
        ->capture_default_str();
    app.add_option("--connect-action", raw.connect_action,
                   "What a CONNECT gets: tunnel, mitm, http or reject")
        ->check(CLI::IsMember({"tunnel", "mitm", "http", "reject"}))
        ->capture_default_str();
    app.add_option("--threads", p.threads, "I/O threads, one io_context each")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--connect-timeout", raw.connect_timeout,
                   "Seconds to resolve and connect to an origin")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--header-timeout", raw.header_timeout,
                   "Seconds to receive a complete request head")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--idle-timeout", raw.idle_timeout,
                   "Seconds without a byte moving on a connection (keep-alive, bodies, tunnels)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--max-header-bytes", p.max_header_bytes,
                   "Largest request head accepted (else 431)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{16} << 20))
        ->capture_default_str();
    app.add_option("--state-dir", p.state_dir, "Where the CA (created on first start) is kept")
        ->capture_default_str();
    app.add_option("--ca-cert", p.ca_cert_file,
                   "Use this CA certificate (PEM, RSA or EC) instead of the state dir's");
    app.add_option("--ca-key", p.ca_key_file, "The private key of --ca-cert (PEM)");
    app.add_option("--upstream-ca", p.upstream_ca_file,
                   "Also trust this CA (PEM) when verifying origins");
    app.add_flag("--upstream-insecure", p.upstream_insecure,
                 "Do not verify origin certificates (mitm)");
    app.add_option("--leaf-cache-size", p.leaf_cache_size,
                   "Leaf certificates kept, least recently used first out")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    auto& c = options.control;
    app.add_option("--control-listen", c.listen, "gRPC control plane address, HOST:PORT")
        ->capture_default_str();
    app.add_option("--control-token-file", c.token.token_file,
                   "Read the control token from this file (else $MPROXY_CONTROL_TOKEN, else "
                   "<state-dir>/control-token, generated on first start)");
    app.add_option("--control-tls-cert", c.tls_cert_file,
                   "Serve the control plane over TLS with this certificate (PEM)");
    app.add_option("--control-tls-key", c.tls_key_file,
                   "The private key of --control-tls-cert (PEM)");
    app.add_option("--control-tls-client-ca", c.tls_client_ca_file,
                   "Require control clients to present a certificate signed by this CA (PEM)");
    app.add_option(
        "--rules-file", c.rules_file,
        "Where the rules persist (default <state-dir>/rules.json); reloaded when it changes");
    app.add_option("--flow-log-size", p.flow_log_size,
                   "Flow events kept in memory for watchers; 0 turns them off")
        ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))
        ->capture_default_str();
    auto& m = options.metrics;
    app.add_option("--metrics-listen", m.listen, "Prometheus /metrics address, HOST:PORT, or off")
        ->capture_default_str();
    app.add_option(
           "--metrics-connection-grace", raw.connection_grace,
           "Seconds a closed connection's series stay in /metrics, so its last bytes are scraped")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    app.add_option(
           "--metrics-connection-series-limit", m.connection_series_limit,
           "Most per-connection series in one scrape (4 per connection); the oldest are left out")
        ->check(CLI::Range(std::size_t{4}, std::size_t{10'000'000}))
        ->capture_default_str();
    app.add_option("--capture", p.capture.enabled,
                   "Keep intercepted exchanges (plain, http, mitm) in <state-dir>/captures.db; "
                   "false keeps only those a rule's capture policy asks for: true or false")
        ->capture_default_str();
    app.add_option("--capture-headers", p.capture.headers,
                   "Keep the fields of intercepted exchanges (plain, http, mitm), not just their "
                   "lines and sizes: true or false")
        ->capture_default_str();
    app.add_option("--capture-body-bytes", raw.capture_body_bytes,
                   "Body bytes kept per direction of each intercepted exchange; 0 keeps none")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32))
        ->capture_default_str();
    app.add_option("--capture-max-bytes", p.capture_max_bytes,
                   "What the kept exchanges (<state-dir>/captures.db) may take on disk; the "
                   "oldest go first")
        ->check(CLI::Range(std::uint64_t{1} << 20, std::uint64_t{1} << 50))
        ->capture_default_str();
    app.add_option("--capture-max-age", raw.capture_max_age,
                   "Seconds an exchange is kept at most; 0: until the budget needs the room")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_flag("--refuse-trace", raw.refuse_trace,
                 "Answer TRACE with Max-Forwards: 0 with 405 instead of echoing the request");
    app.add_option("--max-connections", p.limits.max_connections,
                   "Most client connections at once (then 503); 0: no limit")
        ->capture_default_str();
    app.add_option("--max-connections-per-client", p.limits.max_connections_per_client,
                   "Most connections from one client address at once (then 503); 0: no limit")
        ->capture_default_str();
    app.add_option("--max-connection-lifetime", raw.max_lifetime,
                   "Seconds after which a connection is closed; 0: never")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    app.add_option(
           "--drain-timeout", raw.drain_timeout,
           "On SIGTERM: seconds in-flight exchanges get to finish before the rest are closed")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_option("--log-format", raw.log_format,
                   "text (for people) or json (one object per line)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
}

// Turns the parsed flags into the configurations; nullopt with `error` set when they disagree.
std::optional<std::string> finish(ServerOptions& options, const RawFlags& raw) {
    auto& p = options.proxy;
    auto& c = options.control;
    // Port 0 asks for an ephemeral port (tests, and the log line says which one).
    const bool ephemeral = raw.listen.ends_with(":0");
    const auto authority = proxy::parse_connect_authority(
        ephemeral ? raw.listen.substr(0, raw.listen.size() - 2) + ":1" : raw.listen);
    if (!authority)
        return "--listen " + raw.listen + ": expected HOST:PORT, for example 127.0.0.1:8080";
    if (c.listen.rfind(':') == std::string::npos)
        return "--control-listen " + c.listen + ": expected HOST:PORT, for example 127.0.0.1:9090";
    if (c.tls_cert_file.empty() != c.tls_key_file.empty() ||
        (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty()))
        return "--control-tls-cert and --control-tls-key go together (and --control-tls-client-ca "
               "needs them)";
    options.metrics_enabled = options.metrics.listen != "off";
    if (options.metrics_enabled && options.metrics.listen.rfind(':') == std::string::npos)
        return "--metrics-listen " + options.metrics.listen +
               ": expected HOST:PORT (127.0.0.1:9100) or off";
    p.listen_host = authority->host;
    p.listen_port = ephemeral ? 0 : authority->port;
    p.connect_action = *proxy::parse_connect_action(raw.connect_action);
    p.connect_timeout = seconds_to_ms(raw.connect_timeout);
    p.header_timeout = seconds_to_ms(raw.header_timeout);
    p.answer_trace = !raw.refuse_trace;
    p.capture.request_body_bytes = p.capture.response_body_bytes = raw.capture_body_bytes;
    p.capture_max_age = std::chrono::seconds(static_cast<long long>(raw.capture_max_age));
    p.idle_timeout = seconds_to_ms(raw.idle_timeout);
    p.closed_connection_grace = seconds_to_ms(raw.connection_grace);
    p.limits.max_connection_lifetime = seconds_to_ms(raw.max_lifetime);
    options.drain_timeout = seconds_to_ms(raw.drain_timeout);
    options.log_format = raw.log_format == "json" ? LogFormat::json : LogFormat::text;
    return std::nullopt;
}

ServerOptions default_options() {
    ServerOptions options;
    options.proxy.threads = std::max(1u, std::thread::hardware_concurrency());
    const char* xdg_state = std::getenv("XDG_STATE_HOME");
    options.proxy.state_dir =
        xdg_state && *xdg_state ? std::string(xdg_state) + "/mproxy" : "var/mproxy";
    return options;
}

// The file's settings, minus those the command line gives itself.
std::vector<std::string> file_arguments(const v1::ServerConfig& config,
                                        const CLI::App& command_line) {
    const auto all = config_arguments(config);
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& flag = all[i];
        const auto name = flag.substr(0, flag.find('='));
        const bool has_value = flag.find('=') == std::string::npos && name != "--upstream-insecure";
        if (command_line.count(name) == 0) {
            kept.push_back(flag);
            if (has_value) kept.push_back(all[i + 1]);
        }
        if (has_value) ++i;
    }
    return kept;
}

}  // namespace

std::variant<ServerOptions, OptionsFailure> read_server_options(int argc, char** argv) {
    // First the command line alone: --help, --version, errors in it, and which flags it gives.
    auto options = default_options();
    RawFlags raw;
    CLI::App app{"mproxyd: an intercepting HTTP/1.1 forward proxy"};
    add_flags(app, options, raw);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const bool success = e.get_exit_code() == 0;  // --help, --version
        return OptionsFailure{success ? 0 : 2, success ? app.help() : std::string(e.what())};
    }
    if (!options.config_file.empty()) {
        const auto file = options.config_file;
        v1::ServerConfig config;
        try {
            config = load_config_file(file);
        } catch (const std::exception& e) {
            return OptionsFailure{2, e.what()};
        }
        // Again, with the file's settings before the command line's.
        std::vector<std::string> args = file_arguments(config, app);
        for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
        std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
        options = default_options();
        raw = RawFlags{};
        CLI::App merged{"mproxyd"};
        add_flags(merged, options, raw);
        try {
            merged.parse(args);
        } catch (const CLI::ParseError& e) {
            return OptionsFailure{
                2, "config " + file + ": " + e.what() + " (set by the file's key of that name)"};
        }
        for (int i = 0; i < config.rules_size(); ++i) {
            auto rule = control::rule_from_proto(config.rules(i));
            if (auto* error = std::get_if<control::FieldError>(&rule))
                return OptionsFailure{
                    2, "config " + file + ": " +
                           control::describe_rule_error(static_cast<std::size_t>(i), *error)};
            options.control.seed_rules.push_back(std::move(std::get<proxy::Rule>(rule)));
        }
    }
    if (auto error = finish(options, raw)) return OptionsFailure{2, *error};
    return options;
}

std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code) {
    auto read = read_server_options(argc, argv);
    if (auto* options = std::get_if<ServerOptions>(&read)) return std::move(*options);
    const auto& failure = std::get<OptionsFailure>(read);
    exit_code = failure.exit_code;
    if (failure.exit_code == 0)
        std::fputs(failure.message.c_str(), stdout);
    else
        std::fprintf(stderr, "mproxyd: %s\n", failure.message.c_str());
    return std::nullopt;
}

}  // namespace mproxy::server
