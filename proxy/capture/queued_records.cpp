#include "proxy/capture/queued_records.hpp"

#include <cstring>

namespace mproxy::proxy {

std::size_t queued_size(const CaptureRecord& r) {
    return sizeof(QueuedRecord) + r.detail.size() + r.request_body.size() + r.response_body.size() +
           r.websocket.size();
}

void append_record(std::string& queue, const CaptureRecord& r) {
    QueuedRecord header{};  // padding included: no byte of the queue is left unset
    header.flow_id = r.flow_id;
    header.started_us = r.started_us;
    header.detail = static_cast<std::uint32_t>(r.detail.size());
    header.request_body = static_cast<std::uint32_t>(r.request_body.size());
    header.response_body = static_cast<std::uint32_t>(r.response_body.size());
    header.websocket = static_cast<std::uint32_t>(r.websocket.size());
    header.truncated_bodies = r.truncated_bodies;
    queue.append(reinterpret_cast<const char*>(&header), sizeof header);
    queue.append(r.detail).append(r.request_body).append(r.response_body).append(r.websocket);
}

RecordView read_record(std::string_view& queue) {
    RecordView v;
    std::memcpy(&v.header, queue.data(), sizeof v.header);
    queue.remove_prefix(sizeof v.header);
    const auto take = [&](std::uint32_t n) {
        const auto part = queue.substr(0, n);
        queue.remove_prefix(n);
        return part;
    };
    v.detail = take(v.header.detail);
    v.request_body = take(v.header.request_body);
    v.response_body = take(v.header.response_body);
    v.websocket = take(v.header.websocket);
    return v;
}

}  // namespace mproxy::proxy
