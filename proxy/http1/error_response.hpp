#pragma once
// The responses mproxy writes itself: a status, its reason phrase, and a one-line text body that
// names the cause, so that a person reading curl's output knows what went wrong and where.

#include <string>
#include <string_view>

namespace mproxy::proxy {

std::string_view reason_phrase(unsigned status);

// A complete response. `close` adds "Connection: close" (the connection ends after it).
std::string make_error_response(unsigned status, std::string_view explanation, bool close);

}  // namespace mproxy::proxy
