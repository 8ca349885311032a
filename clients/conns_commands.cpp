// `mproxyctl conns ...`: live connections with their byte counters (once, or refreshed), and
// closing them by id or by filter.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "clients/command_context.hpp"
#include "clients/formatting.hpp"
#include "mproxy/v1/connections.grpc.pb.h"

namespace mproxy::ctl {

namespace {

using Connections = std::vector<v1::Connection>;
using Stub = v1::ConnectionsService::Stub;

struct ConnectionFilterFlags {
    std::string host_glob;
    std::string client_cidr;
    std::vector<std::string> modes;
    std::uint64_t min_bytes = 0;
};

struct ListFlags {
    ConnectionFilterFlags filter;
    std::string sort = "id";
    bool watch = false;
    double interval_seconds = 2;
};

struct CloseFlags {
    std::optional<std::uint64_t> id;
    ConnectionFilterFlags filter;
    bool all = false;
};

void add_filter_flags(CLI::App& command, ConnectionFilterFlags& flags) {
    command.add_option("--host", flags.host_glob,
                       "Targets whose host matches this glob ('*', '?')");
    command.add_option("--client", flags.client_cidr, "Clients in this network (CIDR or address)");
    command
        .add_option("--mode", flags.modes,
                    "plain, tunnel, http, mitm, websocket or rejected (repeatable)")
        ->check(CLI::IsMember({"plain", "tunnel", "http", "mitm", "websocket", "rejected"}))
        ->allow_extra_args(false);
    command.add_option("--min-bytes", flags.min_bytes,
                       "Connections that moved at least this many client bytes");
}

v1::ConnectionFilter connection_filter(const ConnectionFilterFlags& flags) {
    v1::ConnectionFilter filter;
    filter.set_target_glob(flags.host_glob);
    filter.set_client_cidr(flags.client_cidr);
    for (const auto& mode : flags.modes) filter.add_modes(*parse_mode(mode));
    filter.set_min_bytes(flags.min_bytes);
    return filter;
}

std::uint64_t total_bytes(const v1::Connection& c) {
    return c.client_rx_bytes() + c.client_tx_bytes() + c.upstream_rx_bytes() +
           c.upstream_tx_bytes();
}

using Row = std::pair<std::string, v1::Connection>;  // the replica, and one of its connections

// Biggest first; "id" keeps the servers' order (by replica, then id).
void sort_rows(std::vector<Row>& rows, const std::string& key) {
    const auto by = [&](auto value) {
        std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
            return value(a.second) > value(b.second);
        });
    };
    if (key == "bytes") by(total_bytes);
    if (key == "age")
        by([](const v1::Connection& c) {
            return c.age().seconds() * 1'000'000'000LL + c.age().nanos();
        });
    if (key == "exchanges") by([](const v1::Connection& c) { return c.exchanges(); });
}

int list_once(const CommandContext& context, const ListFlags& flags, const Fleet& fleet) {
    v1::ListConnectionsRequest request;
    *request.mutable_filter() = connection_filter(flags.filter);
    auto answers = ask_each<Connections>(fleet, [&](const ControlChannel& replica) {
        const auto reply = call<v1::ConnectionsService>(replica, &Stub::ListConnections, request);
        return Connections(reply.connections().begin(), reply.connections().end());
    });
    // In a fleet the rows of every replica are sorted together: the biggest talkers first, wherever
    // they are.
    std::vector<Row> rows;
    for (const auto& answer : answers)
        if (answer.result)
            for (const auto& connection : *answer.result)
                rows.emplace_back(answer.replica, connection);
    sort_rows(rows, flags.sort);
    Printer printer(context.format(), fleet.tagged,
                    {"ID", "CLIENT", "TARGET", "MODE", "AGE", "CLIENT RX", "CLIENT TX",
                     "UPSTREAM RX", "UPSTREAM TX", "EXCHANGES"});
    for (const auto& [replica, c] : rows) {
        printer.row(replica, c,
                    {std::to_string(c.id()), c.client(), c.target().empty() ? "-" : c.target(),
                     mode_name(c.mode()), human_duration(c.age()), human_bytes(c.client_rx_bytes()),
                     human_bytes(c.client_tx_bytes()), human_bytes(c.upstream_rx_bytes()),
                     human_bytes(c.upstream_tx_bytes()), std::to_string(c.exchanges())});
    }
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

int list(const CommandContext& context, const ListFlags& flags) {
    const auto fleet = context.fleet();
    if (!flags.watch) return list_once(context, flags, fleet);
    const bool terminal = isatty(STDOUT_FILENO) == 1;
    const auto interval =
        std::chrono::milliseconds(static_cast<long long>(flags.interval_seconds * 1000));
    for (;;) {  // until interrupted: a refresh that fails says so and the next one tries again
        if (terminal) std::cout << "\033[H\033[2J";
        list_once(context, flags, fleet);
        if (!terminal) std::cout << "\n";
        std::cout.flush();
        if (!std::cout) return exit_failure;
        std::this_thread::sleep_for(interval);
    }
}

int close(const CommandContext& context, const CloseFlags& flags) {
    const auto filter = connection_filter(flags.filter);
    const bool by_filter = filter.ByteSizeLong() > 0;
    if (static_cast<int>(flags.id.has_value()) + static_cast<int>(by_filter) +
            static_cast<int>(flags.all) !=
        1)
        throw CliError(
            exit_usage,
            "conns close takes one of: an ID, filter flags (--host, --client, ...), or --all");
    const auto fleet = context.fleet();
    auto answers =
        ask_each<v1::CloseConnectionsResponse>(fleet, [&](const ControlChannel& replica) {
            v1::CloseConnectionsResponse closed;
            if (flags.id) {
                v1::CloseConnectionRequest request;
                request.set_id(*flags.id);
                call<v1::ConnectionsService>(replica, &Stub::CloseConnection, request);
                closed.set_closed(1);
                return closed;
            }
            v1::CloseConnectionsRequest request;
            *request.mutable_filter() = filter;
            request.set_all(flags.all);
            return call<v1::ConnectionsService>(replica, &Stub::CloseConnections, request);
        });
    forgive_not_found_elsewhere(answers);
    Printer printer(context.format(), fleet.tagged, {"CLOSED"});
    for (const auto& answer : answers)
        if (answer.result)
            printer.row(answer.replica, *answer.result, {std::to_string(answer.result->closed())});
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

}  // namespace

void add_conns_commands(CLI::App& app, CommandContext& context) {
    auto* conns = app.add_subcommand("conns", "Live client connections and their bytes");
    conns->require_subcommand(1);

    auto list_flags = std::make_shared<ListFlags>();
    auto* list_command = conns->add_subcommand("list", "Live connections with their byte counters");
    add_filter_flags(*list_command, list_flags->filter);
    list_command
        ->add_option("--sort", list_flags->sort,
                     "id, bytes (most first), age (oldest first) or exchanges")
        ->check(CLI::IsMember({"id", "bytes", "age", "exchanges"}))
        ->capture_default_str();
    list_command->add_flag("-w,--watch", list_flags->watch,
                           "Refresh the table every --interval seconds");
    list_command
        ->add_option("--interval", list_flags->interval_seconds, "Seconds between refreshes")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    list_command->footer(
        "Examples:\n  mproxyctl conns list --sort bytes\n  mproxyctl conns list --watch --interval "
        "1 --host '*.example.com'");
    on_run(list_command, context,
           [list_flags](const CommandContext& c) { return list(c, *list_flags); });

    auto close_flags = std::make_shared<CloseFlags>();
    auto* close_command =
        conns->add_subcommand("close", "Close a connection by id, or every one a filter selects");
    close_command->add_option("ID", close_flags->id, "The connection's id");
    add_filter_flags(*close_command, close_flags->filter);
    close_command->add_flag("--all", close_flags->all, "Close every live connection");
    close_command->footer(
        "Examples:\n  mproxyctl conns close 17\n  mproxyctl conns close --host '*.ads.example'\n  "
        "mproxyctl conns close --client 10.0.0.0/8");
    on_run(close_command, context,
           [close_flags](const CommandContext& c) { return close(c, *close_flags); });
}

}  // namespace mproxy::ctl
