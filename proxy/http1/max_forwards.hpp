#pragma once
// Max-Forwards (RFC 9110 section 7.6.2): an OPTIONS or TRACE request carrying it counts down at
// each hop, and the hop that finds it at 0 answers as the final recipient instead of forwarding.

#include <string>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

enum class MaxForwardsStep {
    forward,      // not OPTIONS or TRACE, no Max-Forwards, or a value that is no number: as it came
    decremented,  // N > 0: the request now carries N - 1 (in a single field)
    answer_here,  // 0: not forwarded; answer with final_recipient_answer()
};

// Decrements the request's Max-Forwards in place when it applies.
MaxForwardsStep step_max_forwards(RequestHead& request);

struct FinalRecipientAnswer {
    unsigned status;
    std::string bytes;  // the whole response
};
// The answer of a final recipient: for OPTIONS, 200 with the methods a proxy relays in Allow; for
// TRACE, 200 with the request as received as a message/http body (credentials left out: a TRACE
// must not be a way to read them back), or 405 when TRACE is refused. `close` adds
// "Connection: close".
FinalRecipientAnswer final_recipient_answer(const RequestHead& request, bool trace_allowed,
                                            bool close);

}  // namespace mproxy::proxy
