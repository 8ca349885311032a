#pragma once
// The flow log's newest events in wire form, encoded once and shared by every unfiltered watch
// stream. While at least one such stream is open (between acquire() and release()) the tail is the
// log's sink: each event is encoded on the thread that publishes it, while it is still in that
// thread's cache (the fields before the lock, the sequence under it), and written end to end into
// large reference-counted gRPC slices. A stream's message points into them with sub-slices, so a
// batch costs a stream neither an encoding nor a copy, whatever the number of streams. The tail
// keeps what the log keeps; events from before it attached are read from the log instead.

#include <grpcpp/support/slice.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "proxy/flows/flow_log.hpp"
#include "proxy/flows/flow_sink.hpp"

namespace mproxy::control {

class EncodedFlowTail final : public proxy::FlowSink {
  public:
    explicit EncodedFlowTail(proxy::FlowLog& log) : log_(log) {}
    ~EncodedFlowTail() override;

    // A stream that will read the tail holds it from before its first read to after its last:
    // the first acquire() attaches the tail to the log, the last release() detaches it and frees
    // what it held.
    void acquire();
    void release();

    struct Read {
        std::vector<grpc::Slice> slices;  // the events' bytes, in order
        std::size_t bytes = 0;            // in `slices`
        std::uint64_t events = 0;         // in `slices`
        std::uint64_t missed = 0;         // events after the cursor that are gone from the tail
        std::uint64_t first = 0;          // the sequence of the first event read (0: none)
        std::uint64_t cursor = 0;         // pass back to read on: the last sequence read or missed
        bool at_end = false;              // nothing newer in the log at the time of the read
        // False: the tail never held the events right after the cursor (they came before it
        // attached) and read nothing; read them from the log instead.
        bool covered = true;
    };
    // The events after `after`, oldest first, stopping before `max_bytes` (though always one event
    // when there is one). Events the tail dropped with the log are `missed` on the read that starts
    // there, so a Gap always comes before the events it precedes.
    Read read_after(std::uint64_t after, std::size_t max_bytes);

    // proxy::FlowSink: called by the log, under its lock.
    void attached(std::uint64_t last) override;
    void append(const proxy::FlowEvent& event, std::string_view prepared) override;

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

    proxy::FlowLog& log_;
    // Held while attaching or detaching (it comes before the log's lock, which comes before
    // mutex_).
    std::mutex users_mutex_;
    std::size_t users_ = 0;

    std::mutex mutex_;
    std::deque<Chunk> chunks_;  // oldest first, never empty ones
    std::uint64_t last_ = 0;    // the newest sequence appended (or the log's newest at attach)
    // The tail holds nothing at or before this: the log's newest event when the tail attached.
    // Before any attach, it holds nothing at all.
    std::uint64_t floor_ = UINT64_MAX;
};

}  // namespace mproxy::control
