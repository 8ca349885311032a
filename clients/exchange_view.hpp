#pragma once
// `mproxyctl flows show`: one exchange the way `curl -v` prints one: `*` lines for what happened
// around it, `>` for the request as sent to the origin, `<` for each response as received, then
// the start of the response body.

#include <ostream>
#include <string>

#include "mproxy/v1/flows.pb.h"

namespace mproxy::ctl {

struct BodyPreview {
    std::string bytes;   // the decoded body's first bytes
    bool whole = false;  // `bytes` is all of it
    std::string note;    // why there is no preview (not captured, does not decode, ...)
};

void print_exchange(std::ostream& out, const v1::Flow& flow, const BodyPreview& response_preview);

// True when `bytes` reads as text (UTF-8 without control characters other than whitespace).
bool looks_like_text(const std::string& bytes);

}  // namespace mproxy::ctl
