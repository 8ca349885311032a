#include "control/encoded_flow_tail.hpp"

#include <grpc/slice.h>

#include <algorithm>

#include "control/flow_wire.hpp"

namespace mproxy::control {

namespace {
// Large enough that a caught-up stream's batch (a few milliseconds of events) spans one or two
// slices; an event larger than this gets a chunk of its own size.
constexpr std::size_t chunk_capacity = 64 * 1024;
}  // namespace

EncodedFlowTail::~EncodedFlowTail() {
    std::lock_guard users(users_mutex_);
    if (users_ > 0) log_.detach_sink();
}

void EncodedFlowTail::acquire() {
    std::lock_guard users(users_mutex_);
    if (users_++ == 0) log_.attach_sink(*this, &FlowEventWire::prepare);
}

void EncodedFlowTail::release() {
    std::lock_guard users(users_mutex_);
    if (--users_ > 0) return;
    log_.detach_sink();
    // Slices handed out keep their buffers alive on their own.
    std::lock_guard lock(mutex_);
    chunks_.clear();
    floor_ = UINT64_MAX;
}

void EncodedFlowTail::attached(std::uint64_t last) {
    std::lock_guard lock(mutex_);
    chunks_.clear();
    last_ = floor_ = last;
}

void EncodedFlowTail::append(const proxy::FlowEvent& event, std::string_view prepared) {
    // Prepared before the sink attached: encoded here instead (rarely, and only around an attach).
    std::string late;
    if (prepared.empty()) {
        FlowEventWire::prepare(event, late);
        prepared = late;
    }
    const auto size = FlowEventWire::field_size(event.sequence, prepared);
    std::lock_guard lock(mutex_);
    if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < size) {
        Chunk chunk;
        chunk.capacity = std::max(chunk_capacity, size);
        grpc_slice raw = grpc_slice_malloc(chunk.capacity);
        chunk.data = GRPC_SLICE_START_PTR(raw);
        chunk.buffer = grpc::Slice(raw, grpc::Slice::STEAL_REF);
        chunk.first = event.sequence;
        chunks_.push_back(std::move(chunk));
    }
    auto& chunk = chunks_.back();
    // Bytes below `used` are never written again: slices handed out point at them.
    FlowEventWire::write_field(event.sequence, prepared, chunk.data + chunk.used);
    chunk.used += size;
    chunk.ends.push_back(static_cast<std::uint32_t>(chunk.used));
    last_ = event.sequence;
    // Keep what the log keeps: a chunk goes once the log has overwritten all of its events.
    const auto capacity = log_.capacity();
    const std::uint64_t oldest = last_ > capacity ? last_ - capacity + 1 : 1;
    while (!chunks_.empty() && chunks_.front().last() < oldest) chunks_.pop_front();
}

EncodedFlowTail::Read EncodedFlowTail::read_after(std::uint64_t after, std::size_t max_bytes) {
    Read read;
    std::lock_guard lock(mutex_);
    if (after < floor_) {
        read.covered = false;
        return read;
    }
    // A cursor from the future resumes at the newest event, as the log does.
    after = std::min(after, last_);
    // What the log has overwritten is missed here too, whatever a chunk still holds of it.
    const auto capacity = log_.capacity();
    const std::uint64_t oldest = last_ > capacity ? last_ - capacity + 1 : 1;
    read.cursor = std::max(after, oldest - 1);
    read.missed = read.cursor - after;
    // The first chunk holding an event after the cursor.
    auto it = std::partition_point(chunks_.begin(), chunks_.end(),
                                   [&](const Chunk& chunk) { return chunk.last() <= read.cursor; });
    for (; it != chunks_.end(); ++it) {
        const Chunk& chunk = *it;
        const auto from = read.cursor + 1 - chunk.first;  // index of the first event to take
        const std::size_t begin = from == 0 ? 0 : chunk.ends[from - 1];
        // The events that fit: every end within the budget, and at least one event per message.
        const auto room = max_bytes > read.bytes ? max_bytes - read.bytes : 0;
        auto stop = std::upper_bound(chunk.ends.begin() + static_cast<std::ptrdiff_t>(from),
                                     chunk.ends.end(), begin + room);
        if (stop == chunk.ends.begin() + static_cast<std::ptrdiff_t>(from) && read.events == 0)
            ++stop;
        const auto count = static_cast<std::uint64_t>(stop - chunk.ends.begin()) - from;
        if (count == 0) break;
        const std::size_t end = *(stop - 1);
        read.slices.push_back(chunk.buffer.sub(begin, end));
        if (read.events == 0) read.first = read.cursor + 1;
        read.bytes += end - begin;
        read.events += count;
        read.cursor += count;
        if (stop != chunk.ends.end()) break;  // the budget is spent
    }
    read.at_end = read.cursor == last_;
    return read;
}

}  // namespace mproxy::control
