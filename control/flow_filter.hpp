#pragma once
// A FlowFilter of WatchFlows/ListFlows, validated and compiled once per call, then tested against
// every event of the log without allocating (the client network parsed, modes and kinds turned into bit sets).

#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mproxy/v1/flows.pb.h"
#include "proxy/flows/flow_event.hpp"
#include "proxy/rules/ip_network.hpp"

namespace mproxy::control {

class FlowFilter {
public:
    // The empty filter: everything passes.
    FlowFilter() = default;

    // OK and `out` compiled, or INVALID_ARGUMENT whose message names the field at fault the way the
    // API spells it ("filter.client_cidr", "filter.kinds[1]", "filter.status_min").
    static grpc::Status compile(const v1::FlowFilter& message, FlowFilter& out);

    // Every set condition holds. An event without the field a condition is about (a connection
    // event has no method, no status; only exchange_done and connection_closed carry byte counts)
    // fails that condition.
    bool passes(const proxy::FlowEvent& event) const;

    // No condition set: passes() holds for every event.
    bool passes_everything() const {
        return host_glob_.empty() && methods_.empty() && status_min_ == 0 && status_max_ == 0 && modes_ == 0 &&
               !client_network_ && connection_id_ == 0 && min_bytes_ == 0 && kinds_ == 0;
    }

    // True when `event`'s kind is among the selected ones (all when none were named).
    bool passes_kind(proxy::FlowEventKind kind) const;

private:
    std::string host_glob_;  // empty: any host
    std::vector<std::string> methods_;
    unsigned status_min_ = 0, status_max_ = 0;  // 0: unbounded on that side
    std::uint32_t modes_ = 0;  // bit per proxy::ConnectionMode; 0: any
    std::optional<proxy::IpNetwork> client_network_;
    std::uint64_t connection_id_ = 0;
    std::uint64_t min_bytes_ = 0;
    std::uint32_t kinds_ = 0;  // bit per proxy::FlowEventKind; 0: any
};

}  // namespace mproxy::control
