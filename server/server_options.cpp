#include "server/server_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <thread>

#include "proxy/authority.hpp"

namespace mproxy::server {

namespace {
std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}
}  // namespace

std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code) {
    ServerOptions options;
    auto& p = options.proxy;
    CLI::App app{"mproxyd: an intercepting HTTP/1.1 forward proxy"};
    app.set_version_flag("--version", "mproxyd 0.1.0");

    std::string listen = "127.0.0.1:8080";
    std::string connect_action = "tunnel";
    double connect_timeout = 10, header_timeout = 30, idle_timeout = 300;
    p.threads = std::max(1u, std::thread::hardware_concurrency());

    app.add_option("--listen", listen, "Proxy listen address, HOST:PORT ([v6]:PORT for IPv6)")->capture_default_str();
    app.add_option("--connect-action", connect_action, "What a CONNECT gets: tunnel, mitm, http or reject")
        ->check(CLI::IsMember({"tunnel", "mitm", "http", "reject"}))
        ->capture_default_str();
    app.add_option("--threads", p.threads, "I/O threads, one io_context each")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--connect-timeout", connect_timeout, "Seconds to resolve and connect to an origin")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--header-timeout", header_timeout, "Seconds to receive a complete request head")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--idle-timeout", idle_timeout,
                   "Seconds without a byte moving on a connection (keep-alive, bodies, tunnels)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--max-header-bytes", p.max_header_bytes, "Largest request head accepted (else 431)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{16} << 20))
        ->capture_default_str();
    const char* xdg_state = std::getenv("XDG_STATE_HOME");
    p.state_dir = xdg_state && *xdg_state ? std::string(xdg_state) + "/mproxy" : "var/mproxy";
    app.add_option("--state-dir", p.state_dir, "Where the CA (created on first start) is kept")->capture_default_str();
    app.add_option("--ca-cert", p.ca_cert_file, "Use this CA certificate (PEM, RSA or EC) instead of the state dir's");
    app.add_option("--ca-key", p.ca_key_file, "The private key of --ca-cert (PEM)");
    app.add_option("--upstream-ca", p.upstream_ca_file, "Also trust this CA (PEM) when verifying origins");
    app.add_flag("--upstream-insecure", p.upstream_insecure, "Do not verify origin certificates (mitm)");
    app.add_option("--leaf-cache-size", p.leaf_cache_size, "Leaf certificates kept, least recently used first out")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    auto& c = options.control;
    app.add_option("--control-listen", c.listen, "gRPC control plane address, HOST:PORT")->capture_default_str();
    app.add_option("--control-token-file", c.token.token_file,
                   "Read the control token from this file (else $MPROXY_CONTROL_TOKEN, else "
                   "<state-dir>/control-token, generated on first start)");
    app.add_option("--control-tls-cert", c.tls_cert_file, "Serve the control plane over TLS with this certificate (PEM)");
    app.add_option("--control-tls-key", c.tls_key_file, "The private key of --control-tls-cert (PEM)");
    app.add_option("--control-tls-client-ca", c.tls_client_ca_file,
                   "Require control clients to present a certificate signed by this CA (PEM)");
    app.add_option("--rules-file", c.rules_file, "Where the rules persist (default <state-dir>/rules.json)");
    app.add_option("--flow-log-size", p.flow_log_size, "Flow events kept in memory for watchers; 0 turns them off")
        ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))
        ->capture_default_str();
    auto& m = options.metrics;
    double connection_grace = 30;
    app.add_option("--metrics-listen", m.listen, "Prometheus /metrics address, HOST:PORT, or off")
        ->capture_default_str();
    app.add_option("--metrics-connection-grace", connection_grace,
                   "Seconds a closed connection's series stay in /metrics, so its last bytes are scraped")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    app.add_option("--metrics-connection-series-limit", m.connection_series_limit,
                   "Most per-connection series in one scrape (4 per connection); the oldest are left out")
        ->check(CLI::Range(std::size_t{4}, std::size_t{10'000'000}))
        ->capture_default_str();
    app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        exit_code = app.exit(e) == 0 ? 0 : 2;  // --help and --version exit 0, usage errors 2
        return std::nullopt;
    }

    // Port 0 asks for an ephemeral port (tests, and the log line says which one).
    const bool ephemeral = listen.ends_with(":0");
    const auto authority =
        proxy::parse_connect_authority(ephemeral ? listen.substr(0, listen.size() - 2) + ":1" : listen);
    if (!authority) {
        std::fprintf(stderr, "mproxyd: --listen %s: expected HOST:PORT, for example 127.0.0.1:8080\n", listen.c_str());
        exit_code = 2;
        return std::nullopt;
    }
    if (c.listen.rfind(':') == std::string::npos) {
        std::fprintf(stderr, "mproxyd: --control-listen %s: expected HOST:PORT, for example 127.0.0.1:9090\n",
                     c.listen.c_str());
        exit_code = 2;
        return std::nullopt;
    }
    options.metrics_enabled = m.listen != "off";
    if (options.metrics_enabled && m.listen.rfind(':') == std::string::npos) {
        std::fprintf(stderr, "mproxyd: --metrics-listen %s: expected HOST:PORT (127.0.0.1:9100) or off\n",
                     m.listen.c_str());
        exit_code = 2;
        return std::nullopt;
    }
    p.closed_connection_grace = seconds_to_ms(connection_grace);
    if (c.tls_cert_file.empty() != c.tls_key_file.empty() ||
        (!c.tls_client_ca_file.empty() && c.tls_cert_file.empty())) {
        std::fprintf(stderr, "mproxyd: --control-tls-cert and --control-tls-key go together "
                             "(and --control-tls-client-ca needs them)\n");
        exit_code = 2;
        return std::nullopt;
    }
    p.listen_host = authority->host;
    p.listen_port = ephemeral ? 0 : authority->port;
    p.connect_action = *proxy::parse_connect_action(connect_action);
    p.connect_timeout = seconds_to_ms(connect_timeout);
    p.header_timeout = seconds_to_ms(header_timeout);
    p.idle_timeout = seconds_to_ms(idle_timeout);
    return options;
}

}  // namespace mproxy::server
