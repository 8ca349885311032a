#pragma once
// A CapturedExchange's heads, trailers, timings and body states as one compact byte string (the
// store's `detail` column), and back. Bodies are kept apart, so a listing never reads them.
// Versioned: a record from a newer format is refused rather than misread.

#include <optional>
#include <string>
#include <string_view>

#include "proxy/capture/captured_exchange.hpp"

namespace mproxy::proxy {

std::string encode_capture_detail(const CapturedExchange& exchange);
// Fills what encode_capture_detail() wrote (not the columns of its own, nor the body bytes);
// false when `bytes` is not such a record.
bool decode_capture_detail(std::string_view bytes, CapturedExchange& exchange);

}  // namespace mproxy::proxy
