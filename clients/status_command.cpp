// `mproxyctl status`: what each server is, how long it has run, what it has carried, its health.

#include "clients/command_context.hpp"
#include "clients/formatting.hpp"
#include "clients/health_check.hpp"
#include "mproxy/v1/server.grpc.pb.h"

namespace mproxy::ctl {

namespace {

// The server's answer with the health check's beside it, as the JSON/YAML answer of `status`.
struct Status {
    v1::ServerInfo info;
    std::string health;
};

std::string listeners(const v1::ServerInfo& info) {
    std::string out;
    for (const auto& listener : info.listeners()) {
        if (!out.empty()) out += ' ';
        out += listener.name() + "=" + listener.address();
    }
    return out;
}

// Exchanges kept in the capture store, "full disk" while it cannot write, "-" without a store.
std::string captured(const v1::ServerInfo& info) {
    if (!info.has_capture()) return "-";
    auto out = std::to_string(info.capture().stored());
    if (info.capture().disk_full()) out += " (disk full)";
    return out;
}

int status(const CommandContext& context) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<Status>(fleet, [](const ControlChannel& replica) {
        Status status;
        status.info = call<v1::ServerService>(replica, &v1::ServerService::Stub::GetServerInfo,
                                              v1::GetServerInfoRequest{});
        status.health = check_health(replica);
        return status;
    });
    Printer printer(context.format(), fleet.tagged,
                    {"VERSION", "HEALTH", "UPTIME", "LIVE", "CONNECTIONS", "EXCHANGES", "CLIENT RX",
                     "CLIENT TX", "RULES", "FLOW EVENTS", "CAPTURED", "LISTENERS"});
    for (const auto& answer : answers) {
        if (!answer.result) continue;
        const auto& info = answer.result->info;
        const auto& t = info.totals();
        // JSON and YAML carry the whole ServerInfo after a "health" field.
        printer.row(answer.replica, info,
                    {info.version(), answer.result->health, human_duration(info.uptime()),
                     std::to_string(t.connections_live()), std::to_string(t.connections_opened()),
                     std::to_string(t.exchanges()), human_bytes(t.client_rx_bytes()),
                     human_bytes(t.client_tx_bytes()), std::to_string(t.rules()),
                     std::to_string(t.flow_events()), captured(info), listeners(info)},
                    {{"health", answer.result->health}});
    }
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

}  // namespace

void add_status_command(CLI::App& app, CommandContext& context) {
    auto* command =
        app.add_subcommand("status", "Server version, uptime, listeners, totals and health");
    command->footer(
        "Examples:\n  mproxyctl status\n  mproxyctl status --servers "
        "dns:///mproxy-headless.proxy.svc:9090");
    on_run(command, context, status);
}

}  // namespace mproxy::ctl
