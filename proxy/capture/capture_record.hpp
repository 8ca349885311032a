#pragma once
// What the data plane hands the capture store for one exchange: already encoded, so that the
// store's writer thread only stores it (it neither encodes nor frees a field list made on another
// thread: both cost more there than the database did).

#include <cstdint>
#include <string>

namespace mproxy::proxy {

struct CaptureRecord {
    std::uint64_t flow_id = 0;
    std::int64_t started_us = 0;  // microseconds since the epoch
    std::string detail;           // capture_codec's detail record
    std::string request_body;     // the kept bytes of each body (empty: none kept)
    std::string response_body;
    std::string websocket;               // encoded messages after a 101 (empty: none)
    std::uint32_t truncated_bodies = 0;  // bodies kept only up to their cap (for the counter)
};

}  // namespace mproxy::proxy
