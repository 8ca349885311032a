#pragma once
// The data plane's flow events as mproxy.v1 messages, and exchanges summarised from their events.

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "mproxy/v1/flows.pb.h"
#include "proxy/flows/flow_event.hpp"

namespace mproxy::control {

google::protobuf::Timestamp to_timestamp(std::chrono::system_clock::time_point time);
std::chrono::system_clock::time_point from_timestamp(const google::protobuf::Timestamp& time);
google::protobuf::Duration to_duration(std::chrono::microseconds duration);

// Every field of `event`, its kind as the matching member of the `kind` oneof; not the details.
void to_proto(const proxy::FlowEvent& event, v1::FlowEvent& out);
// The details an event carries while a subscriber wants them (WatchFlows include_headers): the
// head's fields, a WebSocket message's first bytes.
void add_details(const proxy::FlowEvent& event, v1::FlowEvent& out);

// The ExchangeDone part of an exchange_done event.
void to_exchange_done(const proxy::FlowEvent& event, v1::ExchangeDone& out);

// A WatchFlowsResponse assembled from bytes: watch_response_head(), then each event as a `events`
// entry (FlowEventWire::write_field), then watch_response_trailer() give exactly what
// SerializeToString of the same message gives (fields in number order: log_id, events, gap,
// caught_up), with no message built per stream.
std::string watch_response_head(std::string_view log_id);
std::string watch_response_trailer(const v1::Gap* gap, bool caught_up);

// One exchange from its events, oldest first (at least one). `started` is the request head's time,
// or, without it, the exchange_done's time less its duration. With `with_events`, the events go
// into `events` too (GetFlow); ListFlows summarises from the exchange_done alone.
v1::Flow summarize_flow(std::span<const proxy::FlowEvent> events, bool with_events);

}  // namespace mproxy::control
