#pragma once
// The data plane's flow events as mproxy.v1 messages, and exchanges summarised from their events.

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mproxy/v1/flows.pb.h"
#include "proxy/flow_event.hpp"

namespace mproxy::control {

google::protobuf::Timestamp to_timestamp(std::chrono::system_clock::time_point time);
google::protobuf::Duration to_duration(std::chrono::microseconds duration);

// Every field of `event`, its kind as the matching member of the `kind` oneof.
void to_proto(const proxy::FlowEvent& event, v1::FlowEvent& out);

// The ExchangeDone part of an exchange_done event.
void to_exchange_done(const proxy::FlowEvent& event, v1::ExchangeDone& out);

// The event's mproxy.v1.FlowEvent wire bytes (to_proto, serialized), made once per event by whichever
// stream asks first and kept with the event for every other one.
const std::string& encoded_event(const proxy::LoggedFlowEvent& logged);

// A WatchFlowsResponse assembled from bytes already encoded, so that a batch costs each stream a
// copy of every event's bytes and no protobuf work. write() gives exactly what SerializeToString of
// the same message gives (fields in number order: log_id, events, gap, caught_up).
struct WatchResponseParts {
    std::string_view log_id;
    std::vector<const std::string*> events;  // encoded_event() of each, in order
    std::optional<std::string> gap;          // a serialized v1::Gap, when the message has one
    bool caught_up = false;

    bool empty() const { return events.empty() && !gap && !caught_up; }
    std::size_t size() const;
    // Writes size() bytes at `out` and returns the end.
    std::uint8_t* write(std::uint8_t* out) const;
};

// One exchange from its events, oldest first (at least one). `started` is the request head's time,
// or, without it, the exchange_done's time less its duration. With `with_events`, the events go
// into `events` too (GetFlow); ListFlows summarises from the exchange_done alone.
v1::Flow summarize_flow(std::span<const proxy::FlowEvent> events, bool with_events);

}  // namespace mproxy::control
