#pragma once
// How much of an intercepted exchange the capture keeps: its fields, the first bytes of each body,
// for which content types, and which fields' values are redacted. A rule may carry one; the first
// matching rule's policy applies, and a rule without one (or no rule) takes the server's default.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {

struct CapturePolicy {
    bool enabled = true;  // false: nothing of these exchanges is kept
    bool headers = true;  // false: request and status lines, sizes and timings only
    std::uint64_t request_body_bytes = 0;  // body bytes kept per direction; 0 keeps none
    std::uint64_t response_body_bytes = 0;
    // Bodies are kept only for these media types (empty: any), and never for the skipped ones.
    // An entry ending in '/' ("image/") names a whole type; matching ignores case and parameters.
    std::vector<std::string> body_content_types;
    std::vector<std::string> skip_body_content_types;
    // Field names whose values are stored redacted; nullopt: the credential fields.
    std::optional<std::vector<std::string>> redact_fields;
    bool operator==(const CapturePolicy&) const = default;
};

// Whether a body of this Content-Type (empty when the message has none) is kept under `policy`.
bool keeps_body_of_type(const CapturePolicy& policy, std::string_view content_type);

}  // namespace mproxy::proxy
