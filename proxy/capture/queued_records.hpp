#pragma once
// The queue between the data plane and the capture store's writer is one byte string: records one
// after another, each a fixed header (QueuedRecord) followed by its detail, request body,
// response body and WebSocket messages, of the lengths the header gives. Appending is one copy
// on the submitting thread; the writer reads views into the string and binds them in place, so
// no record is an allocation of one thread freed on another.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/capture/capture_record.hpp"

namespace mproxy::proxy {

struct QueuedRecord {
    std::uint64_t flow_id;
    std::int64_t started_us;
    // Lengths: 32 bits hold them, as the store refuses any record beyond its queue bound, which
    // is below 4 GiB (capture_store.cpp).
    std::uint32_t detail, request_body, response_body, websocket;
    std::uint32_t truncated_bodies;
};

// What appending `record` adds to the queue, in bytes.
std::size_t queued_size(const CaptureRecord& record);
void append_record(std::string& queue, const CaptureRecord& record);

// One record read back from the front of `queue` (which moves past it): views into the queue.
struct RecordView {
    QueuedRecord header;
    std::string_view detail, request_body, response_body, websocket;
};
RecordView read_record(std::string_view& queue);

}  // namespace mproxy::proxy
