#pragma once
// A CapturedExchange as one compact byte string (the store's `detail` column: all but its flow id
// and start time, which are columns, and its body bytes), and back. Bodies are kept apart, so a listing never reads them.
// Versioned: a record from a newer format is refused rather than misread.

#include <optional>
#include <string>
#include <string_view>

#include "proxy/capture/captured_exchange.hpp"

namespace mproxy::proxy {

std::string encode_capture_detail(const CapturedExchange& exchange);
// Fills what encode_capture_detail() wrote (all but the flow id, the start time and the body
// bytes, which the store keeps apart);
// false when `bytes` is not such a record.
bool decode_capture_detail(std::string_view bytes, CapturedExchange& exchange);

// The exchange's WebSocket messages as one byte string (the store's `messages` table; empty when
// there are none), and back into exchange.websocket (times relative to exchange.started).
std::string encode_websocket_messages(const CapturedExchange& exchange);
bool decode_websocket_messages(std::string_view bytes, CapturedExchange& exchange);

}  // namespace mproxy::proxy
