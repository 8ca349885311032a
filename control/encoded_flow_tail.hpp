#pragma once
// The flow log's recent events in wire form, encoded once and shared by every unfiltered watch
// stream. Events are written (FlowEventWire::write_field: each a WatchFlowsResponse `events` entry)
// end to end into large reference-counted gRPC slices; a stream's message points into them with
// sub-slices, so a batch costs a stream neither an encoding nor a copy, whatever the number of
// streams. The tail follows the log lazily (when a stream reads) and keeps what the log keeps.

#include <grpcpp/support/slice.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "proxy/flow_log.hpp"

namespace mproxy::control {

class EncodedFlowTail {
  public:
    explicit EncodedFlowTail(proxy::FlowLog& log) : log_(log) {}

    struct Read {
        std::vector<grpc::Slice> slices;  // the events' bytes, in order
        std::size_t bytes = 0;            // in `slices`
        std::uint64_t events = 0;         // in `slices`
        std::uint64_t missed = 0;         // events after the cursor that are gone from the log
        std::uint64_t first = 0;          // the sequence of the first event read (0: none)
        std::uint64_t cursor = 0;         // pass back to read on: the last sequence read or missed
        bool at_end = false;              // nothing newer in the log at the time of the read
        // False: the tail never encoded the events right after the cursor (it started later) and
        // read nothing; read them from the log instead.
        bool covered = true;
    };
    // The events after `after`, oldest first, stopping before `max_bytes` (though always one event
    // when there is one) and before any events the log lost in between: those are `missed` on
    // the read that starts there, so a Gap always comes before the events it precedes.
    Read read_after(std::uint64_t after, std::size_t max_bytes);

  private:
    // A run of consecutive events in one buffer: event `first + i` ends at ends[i].
    struct Chunk {
        grpc::Slice buffer;
        std::uint8_t* data = nullptr;  // the buffer's bytes: written up to used, read before it
        std::size_t capacity = 0, used = 0;
        std::uint64_t first = 0;
        std::vector<std::uint32_t> ends;

        std::uint64_t last() const { return first + ends.size() - 1; }
    };

    void catch_up_locked(std::uint64_t after);
    void append_locked(const proxy::FlowEvent& event, bool after_hole);

    proxy::FlowLog& log_;
    std::mutex mutex_;
    std::deque<Chunk> chunks_;  // oldest first, never empty ones
    std::uint64_t last_ = 0;    // the newest sequence encoded (or lost before the tail saw it)
    // The tail holds nothing at or before this: an empty tail starts at its first reader's cursor
    // rather than encode the whole log for a stream that only wants what comes next.
    std::uint64_t floor_ = 0;
};

}  // namespace mproxy::control
