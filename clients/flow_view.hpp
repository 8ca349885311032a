#pragma once
// Flow events and exchanges as lines and table rows for people.

#include <string>
#include <vector>

#include "mproxy/v1/flows.pb.h"

namespace mproxy::ctl {

// "exchange_done", "connection_opened", ...: the name of the event's `kind`.
std::string event_kind(const v1::FlowEvent& event);

// One line: sequence, time, connection/flow, kind, client -> target, and what the event says.
std::string event_line(const v1::FlowEvent& event);

// What a Gap means, in a line.
std::string gap_line(const v1::Gap& gap);

const std::vector<std::string>& flow_headers();
std::vector<std::string> flow_cells(const v1::Flow& flow);

}  // namespace mproxy::ctl
