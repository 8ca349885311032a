#include "proxy/http1/max_forwards.hpp"

#include <charconv>

#include "proxy/http/credential_fields.hpp"
#include "proxy/http/hop_by_hop.hpp"

namespace mproxy::proxy {

namespace {
constexpr std::string_view relayed_methods =
    "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, PATCH";
}  // namespace

MaxForwardsStep step_max_forwards(RequestHead& request) {
    if (request.method != "OPTIONS" && request.method != "TRACE") return MaxForwardsStep::forward;
    const auto* value = request.fields.find("max-forwards");
    if (!value) return MaxForwardsStep::forward;
    // 1*DIGIT; anything else is not ours to interpret, and goes on untouched.
    std::uint64_t remaining = 0;
    const auto* end = value->data() + value->size();
    const auto [last, error] = std::from_chars(value->data(), end, remaining);
    if (value->empty() || error != std::errc() || last != end) return MaxForwardsStep::forward;
    if (remaining == 0) return MaxForwardsStep::answer_here;
    // One field with the decremented count, where the first one was.
    auto& fields = request.fields.all();
    bool first = true;
    for (auto it = fields.begin(); it != fields.end();) {
        if (!iequals(it->name, "max-forwards")) {
            ++it;
        } else if (first) {
            it->value = std::to_string(remaining - 1);
            first = false;
            ++it;
        } else {
            it = fields.erase(it);
        }
    }
    return MaxForwardsStep::decremented;
}

FinalRecipientAnswer final_recipient_answer(const RequestHead& request, bool trace_allowed,
                                            bool close) {
    std::string body;
    unsigned status = 200;
    std::string_view status_line = "200 OK";
    std::string_view content_type;
    if (request.method == "TRACE" && trace_allowed) {
        RequestHead echo;
        echo.method = request.method;
        echo.target = request.target;
        echo.version_minor = request.version_minor;
        for (const auto& field : request.fields.all())
            if (!is_credential_field(field.name)) echo.fields.add(field.name, field.value);
        append_head(body, echo);
        content_type = "message/http";
    } else if (request.method == "TRACE") {
        status = 405;
        status_line = "405 Method Not Allowed";
        body = "TRACE is refused by this proxy's configuration\n";
        content_type = "text/plain; charset=utf-8";
    }
    std::string out = "HTTP/1.1 ";
    out.append(status_line).append("\r\nAllow: ").append(relayed_methods);
    if (trace_allowed) out.append(", TRACE");
    if (!content_type.empty()) out.append("\r\nContent-Type: ").append(content_type);
    out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
    out.append("\r\nVia: ").append(via_value);
    if (close) out.append("\r\nConnection: close");
    out.append("\r\n\r\n").append(body);
    return {status, std::move(out)};
}

}  // namespace mproxy::proxy
