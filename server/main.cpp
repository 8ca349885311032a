// mproxyd: runs the data plane until SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <spdlog/spdlog.h>

#include "control/control_server.hpp"
#include "control/metrics_server.hpp"
#include "proxy/proxy_server.hpp"
#include "server/server_options.hpp"

int main(int argc, char** argv) {
    int exit_code = 0;
    auto options = mproxy::server::parse_server_options(argc, argv, exit_code);
    if (!options) return exit_code;
    spdlog::set_level(spdlog::level::from_str(options->log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

    // Block the stop signals in every thread; the main thread waits for them below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
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
            metrics = std::make_unique<mproxy::control::MetricsServer>(options->metrics, server,
                                                                       [&rules] { return rules.generation(); });
            control->add_listener({"metrics", metrics->address()});
        }
    } catch (const std::exception& e) {
        // A taken port, a bad address, an unreadable or mismatched CA, a bad rules file: what() names it.
        std::fprintf(stderr, "mproxyd: %s\n", e.what());
        return 1;
    }
    const auto endpoint = server.endpoint();
    spdlog::info("mproxyd listening on {}:{} (CONNECT action: {}, {} threads)", endpoint.address().to_string(),
                 endpoint.port(), mproxy::proxy::to_string(options->proxy.connect_action), options->proxy.threads);
    const auto& p = options->proxy;
    spdlog::info("CA certificate: {} (also served at http://mproxy.local/ca.pem through the proxy)",
                 p.ca_cert_file.empty() ? p.state_dir + "/ca.pem" : p.ca_cert_file);

    spdlog::info("control plane (gRPC) on {}:{}, token: {}; {} rules in force",
                 options->control.listen.substr(0, options->control.listen.rfind(':')), control->port(),
                 control->token().source, control->rules().list().size());

    if (metrics)
        spdlog::info("metrics (Prometheus) on http://{}/metrics", metrics->address());
    else
        spdlog::info("metrics off (--metrics-listen off)");

    int received = 0;
    sigwait(&stop_signals, &received);
    spdlog::info("received {}, stopping", received == SIGINT ? "SIGINT" : "SIGTERM");
    metrics.reset();
    control->stop();
    server.stop();
    return 0;
}
