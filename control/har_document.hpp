#pragma once
// Captured exchanges as a HAR 1.2 document (the format browsers' devtools, Charles and mitmproxy
// export), written in pieces: the opening, one entry per exchange, the closing, so an export of
// any size streams without being held whole.

#include <cstdint>
#include <string>

#include "proxy/capture/captured_exchange.hpp"

namespace mproxy::control {

struct HarOptions {
    // Bodies are decoded (Content-Encoding undone, as HAR's content.text is) up to this many
    // bytes; one that decodes to more, or does not decode, is given as captured, base64, with a
    // comment that says why.
    std::uint64_t max_decoded_bytes = std::uint64_t{64} << 20;
};

// `{"log":{"version":"1.2","creator":...,"entries":[`
std::string har_opening(const std::string& mproxy_version);
// One entry, JSON; `first` leaves out the comma that separates it from the previous one.
std::string har_entry(const proxy::CapturedExchange& exchange, const HarOptions& options,
                      bool first);
// `]}}` and a newline.
std::string har_closing();

// A body as HAR gives it: decoded and as text when it is UTF-8, else base64.
struct HarBodyText {
    std::string text;
    bool base64 = false;
    std::uint64_t decoded_size = 0;  // bytes of the decoded body (of what was captured)
    std::string comment;             // why it is not decoded, or that the capture was truncated
};
HarBodyText har_body_text(const proxy::CapturedBody& body, const std::string& content_encoding,
                          const HarOptions& options);

}  // namespace mproxy::control
