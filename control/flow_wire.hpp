#pragma once
// A proxy::FlowEvent written straight into mproxy.v1.FlowEvent wire bytes, with no message built:
// the same bytes to_proto() then SerializeToString() give (fields in number order, proto3 defaults
// left out, `time`, the kind and ExchangeDone's durations always present), for a fraction of the
// cost. Watch streams send these; tests compare them with protobuf's own serialization.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/flows/flow_event.hpp"

namespace mproxy::control {

class FlowEventWire {
  public:
    // Measures the event; it must outlive this object and stay unchanged until write().
    explicit FlowEventWire(const proxy::FlowEvent& event);

    // The FlowEvent message's bytes.
    std::size_t size() const { return size_; }
    // The bytes of a `repeated FlowEvent events = 2` entry of WatchFlowsResponse: tag, length,
    // message.
    std::size_t field_size() const;

    // Write size() (field_size()) bytes at `out` and return the end.
    std::uint8_t* write(std::uint8_t* out) const;
    std::uint8_t* write_field(std::uint8_t* out) const;

    // The message in two parts, for an event encoded before it has its sequence (the first field):
    // rest() is every field after it, and an `events` entry is written from the sequence and rest.
    std::size_t rest_size() const { return size_ - sequence_size_; }
    std::uint8_t* write_rest(std::uint8_t* out) const;
    // Appends rest() to `out` (a proxy::FlowEventPrepare).
    static void prepare(const proxy::FlowEvent& event, std::string& out);
    static std::size_t field_size(std::uint64_t sequence, std::string_view rest);
    static std::uint8_t* write_field(std::uint64_t sequence, std::string_view rest,
                                     std::uint8_t* out);

  private:
    const proxy::FlowEvent& event_;
    std::size_t time_size_ = 0;  // the Timestamp message
    std::size_t kind_size_ = 0;  // the kind's message
    std::size_t ttfb_size_ = 0;  // exchange_done: the Duration messages
    std::size_t duration_size_ = 0;
    std::size_t sequence_size_ = 0;  // the sequence field
    std::size_t size_ = 0;
};

}  // namespace mproxy::control
