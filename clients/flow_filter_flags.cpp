#include "clients/flow_filter_flags.hpp"

#include <charconv>
#include <optional>

#include "clients/cli_error.hpp"
#include "clients/formatting.hpp"

namespace mproxy::ctl {

namespace {

std::optional<std::uint32_t> status_number(std::string_view text) {
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 100 || value > 999)
        return std::nullopt;
    return value;
}

void set_status_range(const std::string& text, v1::FlowFilter& filter) {
    std::optional<std::uint32_t> first, last;
    if (text.size() == 3 && text.substr(1) == "xx" && text[0] >= '1' && text[0] <= '5') {
        first = static_cast<std::uint32_t>(text[0] - '0') * 100;
        last = *first + 99;
    } else if (const auto dash = text.find('-'); dash != std::string::npos) {
        first = status_number(std::string_view(text).substr(0, dash));
        last = status_number(std::string_view(text).substr(dash + 1));
    } else {
        first = last = status_number(text);
    }
    if (!first || !last || *first > *last)
        throw CliError(
            exit_usage,
            "--status " + text + ": expected a status (404), a range (400-499) or a class (5xx)");
    filter.set_status_min(*first);
    filter.set_status_max(*last);
}

}  // namespace

void add_flow_filter_flags(CLI::App& command, FlowFilterFlags& flags) {
    const std::string group = "Filter";
    command.add_option("--host", flags.host_glob, "Target hosts matching this glob ('*', '?')")
        ->group(group);
    command.add_option("--method", flags.methods, "Exchanges with this method (repeatable)")
        ->group(group)
        ->allow_extra_args(false);
    command.add_option("--status", flags.status, "Statuses: 404, 400-499 or 5xx")->group(group);
    command
        .add_option("--mode", flags.modes,
                    "plain, tunnel, http, mitm, websocket or rejected (repeatable)")
        ->check(CLI::IsMember({"plain", "tunnel", "http", "mitm", "websocket", "rejected"}))
        ->group(group)
        ->allow_extra_args(false);
    command.add_option("--client", flags.client_cidr, "Clients in this network (CIDR or address)")
        ->group(group);
    command.add_option("--conn", flags.connection_id, "One connection's id")->group(group);
    command.add_option("--min-bytes", flags.min_bytes, "Events carrying at least this many bytes")
        ->group(group);
    command
        .add_option("--kind", flags.kinds,
                    "connection_opened, connection_closed, connect_decision, request_head, "
                    "interim_response, "
                    "response_head, exchange_done or tls_failure (repeatable)")
        ->group(group)
        ->allow_extra_args(false);
}

v1::FlowFilter flow_filter(const FlowFilterFlags& flags) {
    v1::FlowFilter filter;
    filter.set_host_glob(flags.host_glob);
    for (const auto& method : flags.methods) filter.add_methods(method);
    if (!flags.status.empty()) set_status_range(flags.status, filter);
    for (const auto& mode : flags.modes) filter.add_modes(*parse_mode(mode));
    filter.set_client_cidr(flags.client_cidr);
    filter.set_connection_id(flags.connection_id);
    filter.set_min_bytes(flags.min_bytes);
    for (const auto& kind : flags.kinds) filter.add_kinds(kind);
    return filter;
}

}  // namespace mproxy::ctl
