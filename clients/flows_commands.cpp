// `mproxyctl flows ...`: watch events live, list exchanges (the log's and the capture store's),
// get one with its events; show, body and har are in flow_capture_commands.

#include <thread>

#include "clients/command_context.hpp"
#include "clients/flow_filter_flags.hpp"
#include "clients/flow_view.hpp"
#include "clients/flow_watch.hpp"
#include "clients/time_spec.hpp"
#include "mproxy/v1/flows.grpc.pb.h"

namespace mproxy::ctl {

namespace {

using Flows = std::vector<v1::Flow>;
constexpr std::uint32_t max_page_size = 1000;

struct WatchFlags {
    FlowFilterFlags filter;
    std::optional<std::uint64_t> since;
    bool headers = false;
};

struct ListFlags {
    FlowFilterFlags filter;
    std::uint32_t limit = 100;
    std::string since, until;
};

int watch(const CommandContext& context, const WatchFlags& flags) {
    WatchOptions options;
    options.filter = flow_filter(flags.filter);
    options.since = flags.since;
    options.headers = flags.headers;
    options.format = context.format();
    const auto fleet = context.fleet();
    options.tagged = fleet.tagged;
    WatchOutput output(options.format, options.tagged);
    if (fleet.replicas.size() == 1) {
        watch_replica(fleet.replicas.front(), options, output);
        return exit_ok;
    }
    // One watch per replica; the command ends when every one has failed for good.
    std::vector<std::optional<CliError>> failures(fleet.replicas.size());
    {
        std::vector<std::jthread> watches;
        for (std::size_t i = 0; i < fleet.replicas.size(); ++i) {
            watches.emplace_back([&, i] {
                try {
                    watch_replica(fleet.replicas[i], options, output);
                } catch (const CliError& e) {
                    failures[i] = e;
                    output.notice(fleet.replicas[i].address(), e.what());
                }
            });
        }
    }
    for (const auto& failure : failures)
        if (failure) return failure->code();
    return exit_ok;
}

int list(const CommandContext& context, const ListFlags& flags) {
    // Flags are checked before anything is sent.
    v1::ListFlowsRequest first_request;
    *first_request.mutable_filter() = flow_filter(flags.filter);
    if (!flags.since.empty())
        *first_request.mutable_since() = parse_time_spec(flags.since, "--since");
    if (!flags.until.empty())
        *first_request.mutable_until() = parse_time_spec(flags.until, "--until");
    const auto fleet = context.fleet();
    const auto answers = ask_each<Flows>(fleet, [&](const ControlChannel& replica) {
        Flows flows;
        auto request = first_request;
        do {
            request.set_page_size(std::min<std::uint32_t>(
                flags.limit - static_cast<std::uint32_t>(flows.size()), max_page_size));
            const auto page =
                call<v1::FlowsService>(replica, &v1::FlowsService::Stub::ListFlows, request);
            flows.insert(flows.end(), page.flows().begin(), page.flows().end());
            request.set_page_token(page.next_page_token());
        } while (!request.page_token().empty() && flows.size() < flags.limit);
        if (flows.size() > flags.limit) flows.resize(flags.limit);
        return flows;
    });
    Printer printer(context.format(), fleet.tagged, flow_headers());
    for (const auto& answer : answers)
        if (answer.result)
            for (const auto& flow : *answer.result)
                printer.row(answer.replica, flow, flow_cells(flow));
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

int get(const CommandContext& context, std::uint64_t id) {
    const auto fleet = context.fleet();
    const auto answers = get_flow_everywhere(fleet, id);
    Printer printer(context.format(), fleet.tagged, flow_headers());
    for (const auto& answer : answers)
        if (answer.result) printer.row(answer.replica, *answer.result, flow_cells(*answer.result));
    printer.finish();
    if (context.format() == OutputFormat::table) {
        for (const auto& answer : answers) {
            if (!answer.result || answer.result->events().empty()) continue;
            std::cout << "\nEvents" << (fleet.tagged ? " of " + answer.replica : "") << ":\n";
            for (const auto& event : answer.result->events())
                std::cout << "  " << event_line(event) << "\n";
        }
    }
    return report_errors(answers, fleet.tagged);
}

}  // namespace

std::vector<ReplicaAnswer<v1::Flow>> get_flow_everywhere(const Fleet& fleet, std::uint64_t id) {
    v1::GetFlowRequest request;
    request.set_flow_id(id);
    auto answers = ask_each<v1::Flow>(fleet, [&](const ControlChannel& replica) {
        return call<v1::FlowsService>(replica, &v1::FlowsService::Stub::GetFlow, request);
    });
    forgive_not_found_elsewhere(answers);
    return answers;
}

void add_flows_commands(CLI::App& app, CommandContext& context) {
    auto* flows = app.add_subcommand("flows", "Traffic as events and exchanges");
    flows->require_subcommand(1);

    auto watch_flags = std::make_shared<WatchFlags>();
    auto* watch_command = flows->add_subcommand("watch",
                                                "Print each event as it happens (like tail -f); "
                                                "resumes by itself when the server comes back");
    add_flow_filter_flags(*watch_command, watch_flags->filter);
    watch_command->add_option("--since", watch_flags->since,
                              "Start after this sequence number (events still kept)");
    watch_command->add_flag("--headers", watch_flags->headers,
                            "Heads with their fields, WebSocket messages with their first bytes "
                            "(of exchanges that start while the watch runs)");
    watch_command->footer(
        "Examples:\n"
        "  mproxyctl flows watch\n"
        "  mproxyctl flows watch --host '*.corp.example' --kind exchange_done --status 5xx\n"
        "  mproxyctl flows watch --since 0 -o json | jq .\n"
        "  mproxyctl flows watch --headers --host api.example.com\n"
        "A line starting with -- says events were missed, or that the server restarted.");
    on_run(watch_command, context,
           [watch_flags](const CommandContext& c) { return watch(c, *watch_flags); });

    auto list_flags = std::make_shared<ListFlags>();
    auto* list_command = flows->add_subcommand("list", "Recent exchanges, newest first");
    add_flow_filter_flags(*list_command, list_flags->filter);
    list_command->add_option("--limit", list_flags->limit, "At most this many per server")
        ->check(CLI::Range(1u, 1'000'000u))
        ->capture_default_str();
    list_command->add_option("--since", list_flags->since,
                             "Exchanges that started at or after: an age (15m, 2h, 7d) or an RFC "
                             "3339 time; the capture store reaches back past the live log");
    list_command->add_option("--until", list_flags->until, "Exchanges that started before");
    list_command->footer(
        "Examples:\n  mproxyctl flows list --host example.com --limit 20\n  mproxyctl flows list "
        "--status 4xx -o json\n  mproxyctl flows list --since 2h --until 1h");
    on_run(list_command, context,
           [list_flags](const CommandContext& c) { return list(c, *list_flags); });

    auto id = std::make_shared<std::uint64_t>(0);
    auto* get_command = flows->add_subcommand("get", "One exchange with its events");
    get_command->add_option("ID", *id, "The flow id")->required();
    get_command->footer("Examples:\n  mproxyctl flows get 42 -o yaml");
    on_run(get_command, context, [id](const CommandContext& c) { return get(c, *id); });

    add_flow_capture_commands(*flows, context);
}

}  // namespace mproxy::ctl
