#pragma once
// The capture store's exchanges as mproxy.v1 messages, and as the exchange_done event the flow
// log would hold for them (what FlowFilter tests and Flow summaries are made from).

#include <string>

#include "mproxy/v1/flows.pb.h"
#include "proxy/capture/captured_exchange.hpp"
#include "proxy/flows/flow_event.hpp"

namespace mproxy::control {

void to_proto(const proxy::CapturedExchange& exchange, v1::CapturedExchange& out);

// A body's state and size; its content type and coding from the fields of its message.
v1::CapturedBodyInfo body_info(const proxy::CapturedBody& body,
                               const proxy::HeaderFields& message_fields);

// "HTTP/1.0" or "HTTP/1.1", as a head's version_minor says (GetFlow and HAR alike).
std::string http_version_text(unsigned minor);

proxy::FlowEvent done_event_of(const proxy::CapturedExchange& exchange);

}  // namespace mproxy::control
