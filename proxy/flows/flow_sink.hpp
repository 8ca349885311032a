#pragma once
// What the flow log feeds, in sequence order, as it publishes: how the control plane encodes each
// event once, on the publishing thread, while the event is still in that thread's cache, rather
// than read it back cold for every watch stream. The data plane knows nothing of the encoding.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/flows/flow_event.hpp"

namespace mproxy::proxy {

// Run outside the log's lock, before the event has its sequence: writes into `out` (empty on the
// call) whatever of the event can be made without the sequence. A free function, so that a
// publisher may still call it while the sink detaches.
using FlowEventPrepare = void (*)(const FlowEvent& event, std::string& out);

class FlowSink {
  public:
    virtual ~FlowSink() = default;

    // Under the log's lock, as it attaches the sink: `last` is the sequence of the newest event
    // already published, the one before the first append().
    virtual void attached(std::uint64_t last) = 0;
    // Under the log's lock, for every event published while attached, in sequence order: the event,
    // with its sequence and time, and what the sink's prepare function made of it; empty when the
    // event was prepared before the sink attached (the sink then encodes it itself).
    virtual void append(const FlowEvent& event, std::string_view prepared) = 0;
};

}  // namespace mproxy::proxy
