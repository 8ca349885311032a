// mproxyd: runs the data plane, the control plane and /metrics until SIGTERM (graceful drain) or
// SIGINT (at once); SIGHUP reloads the configuration.

#include <spdlog/spdlog.h>
#include <csignal>
#include <cstdio>

#include "control/control_server.hpp"
#include "control/metrics_server.hpp"
#include "proxy/proxy_server.hpp"
#include "server/config_reloader.hpp"
#include "server/logging.hpp"
#include "server/server_options.hpp"

namespace {
// How often the config and rules files are compared with what was last read.
constexpr std::chrono::seconds file_check_period{1};
}  // namespace

int main(int argc, char** argv) {
    int exit_code = 0;
    auto options = mproxy::server::parse_server_options(argc, argv, exit_code);
    if (!options) return exit_code;
    mproxy::server::configure_logging(options->log_level, options->log_format);

    // Block the signals in every thread; the main thread waits for them below.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    mproxy::proxy::ProxyServer server(options->proxy);
    std::unique_ptr<mproxy::control::ControlServer> control;
    std::unique_ptr<mproxy::control::MetricsServer> metrics;
    try {
        // The control plane first: it loads the persisted rules, which must be in force before
        // the proxy accepts its first connection.
        control = std::make_unique<mproxy::control::ControlServer>(options->control, server);
        server.start();
        control->start();
        if (options->metrics_enabled) {
            auto& rules = control->rules();
            metrics = std::make_unique<mproxy::control::MetricsServer>(
                options->metrics, server, [&rules] { return rules.generation(); });
            control->add_listener({"metrics", metrics->address()});
        }
    } catch (const std::exception& e) {
        // A taken port, a bad address, an unreadable or mismatched CA, a bad rules file: what()
        // names it.
        std::fprintf(stderr, "mproxyd: %s\n", e.what());
        return 1;
    }
    const auto endpoint = server.endpoint();
    spdlog::info("mproxyd listening on {}:{} (CONNECT action: {}, {} threads)",
                 endpoint.address().to_string(), endpoint.port(),
                 mproxy::proxy::to_string(options->proxy.connect_action), options->proxy.threads);
    const auto& p = options->proxy;
    spdlog::info("CA certificate: {} (also served at http://mproxy.local/ca.pem through the proxy)",
                 p.ca_cert_file.empty() ? p.state_dir + "/ca.pem" : p.ca_cert_file);
    spdlog::info("control plane (gRPC) on {}:{}, token: {}; {} rules in force",
                 options->control.listen.substr(0, options->control.listen.rfind(':')),
                 control->port(), control->token().source, control->rules().list().size());
    if (metrics)
        spdlog::info("metrics (Prometheus) on http://{}/metrics", metrics->address());
    else
        spdlog::info("metrics off (--metrics-listen off)");

    mproxy::server::ConfigReloader reloader(argc, argv, *options, server, *control);
    reloader.watch(file_check_period);
    if (!options->config_file.empty())
        spdlog::info("configuration from {} (reloaded on SIGHUP and when it changes)",
                     options->config_file);

    int received = 0;
    for (;;) {
        sigwait(&signals, &received);
        if (received != SIGHUP) break;
        reloader.reload("SIGHUP");
    }
    if (received == SIGTERM) {
        // Kubernetes' way to stop a pod: not ready at once, no new connections, and the exchanges
        // in flight get the drain timeout to finish.
        const auto timeout = reloader.running().drain_timeout;
        spdlog::info("received SIGTERM: draining, up to {} s", timeout.count() / 1000.0);
        control->set_ready(false);
        const bool drained = server.drain(timeout);
        spdlog::info(drained ? "drained: every connection finished"
                             : "drain timeout reached: closing the connections still open");
    } else {
        spdlog::info("received SIGINT, stopping");
    }
    metrics.reset();
    control->stop();
    server.stop();
    return 0;
}
