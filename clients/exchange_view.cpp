#include "clients/exchange_view.hpp"

#include "clients/formatting.hpp"

namespace mproxy::ctl {

namespace {

std::string micros_text(std::int64_t us) {
    google::protobuf::Duration d;
    d.set_seconds(us / 1'000'000);
    d.set_nanos(static_cast<std::int32_t>((us % 1'000'000) * 1000));
    return human_duration(d);
}

void print_fields(std::ostream& out, char mark,
                  const google::protobuf::RepeatedPtrField<v1::HttpField>& fields) {
    for (const auto& f : fields) out << mark << ' ' << f.name() << ": " << f.value() << "\n";
}

void print_response(std::ostream& out, const v1::CapturedResponse& r) {
    out << "< " << (r.version().empty() ? "HTTP/1.1" : r.version()) << ' ' << r.status();
    if (!r.reason().empty()) out << ' ' << r.reason();
    out << "\n";
    print_fields(out, '<', r.fields());
    out << "<\n";
}

std::string body_line(const char* which, const v1::CapturedBodyInfo& body) {
    std::string line = std::string("* ") + which + " body: ";
    switch (body.state()) {
        case v1::BODY_STATE_EMPTY:
            return line + "none";
        case v1::BODY_STATE_OFF:
            return line + human_bytes(body.length()) +
                   ", not captured (the capture policy keeps none)";
        case v1::BODY_STATE_TRUNCATED:
            line += "the first " + human_bytes(body.captured()) + " of " +
                    human_bytes(body.length()) + " captured (truncated at the cap)";
            break;
        default:
            line += human_bytes(body.length()) + ", captured whole";
            break;
    }
    if (!body.content_type().empty()) line += "; " + body.content_type();
    if (!body.content_encoding().empty()) line += "; " + body.content_encoding();
    return line;
}

}  // namespace

bool looks_like_text(const std::string& bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
        if (c == 0x7f) return false;
    }
    return true;  // bytes >= 0x80 pass: UTF-8 (and a cut in the middle of a character) is text
}

void print_exchange(std::ostream& out, const v1::Flow& flow, const BodyPreview& preview) {
    out << "* flow " << flow.flow_id() << ", connection " << flow.connection_id() << " ("
        << mode_name(flow.mode()) << ") from " << flow.client() << ", "
        << timestamp_text(flow.started()) << " UTC\n";
    if (!flow.has_capture()) {
        out << "* " << flow.method() << " " << flow.host() << ":" << flow.port() << flow.path();
        if (flow.has_done())
            out << " -> " << flow.done().status() << " in "
                << human_duration(flow.done().duration());
        out << "\n* not in the capture store: its fields and bodies were not kept (capture off for "
               "it, dropped, evicted, or no store)\n";
        return;
    }
    const auto& c = flow.capture();
    const auto& t = c.timings();
    std::string connected = "* to " + flow.host() + ":" + std::to_string(flow.port());
    if (!c.server_address().empty()) connected += " (" + c.server_address() + ")";
    if (t.connect_us() >= 0) {
        connected += ": connect " + micros_text(t.connect_us());
        if (t.tls_us() >= 0) connected += ", TLS " + micros_text(t.tls_us());
    } else if (!flow.done().answered_by_proxy()) {
        connected += ": a pooled connection";
    }
    out << connected << "\n";
    if (!c.fields_captured())
        out << "* fields not captured (the capture policy keeps lines only)\n";

    const auto& r = c.request();
    out << "> " << r.method() << ' ' << r.target() << ' ' << r.version() << "\n";
    print_fields(out, '>', r.fields());
    out << ">\n";
    if (c.request_body().state() != v1::BODY_STATE_EMPTY)
        out << body_line("request", c.request_body()) << "\n";
    print_fields(out, '>', c.request_trailers());
    for (const auto& interim : c.interim()) print_response(out, interim);
    if (flow.done().answered_by_proxy()) {
        out << "* answered by mproxy (the origin never answered): " << c.response().status();
        if (!flow.done().error().empty()) out << ", " << flow.done().error();
        out << "\n";
    } else if (c.response().status() != 0) {
        print_response(out, c.response());
    }
    if (!preview.bytes.empty()) {
        out << preview.bytes;
        if (preview.bytes.back() != '\n') out << "\n";
        if (!preview.whole)
            out << "* ... (the rest: mproxyctl flows body " << flow.flow_id() << ")\n";
    } else if (!preview.note.empty()) {
        out << "* " << preview.note << "\n";
    }
    print_fields(out, '<', c.response_trailers());
    for (const auto& m : c.websocket_messages()) {
        static const char* const names[] = {"continuation", "text", "binary", "3", "4", "5", "6",
                                            "7", "close", "ping", "pong"};
        out << (m.from_client() ? "> " : "< ") << "[" << time_of_day(m.time()) << " "
            << (m.opcode() < 11 ? names[m.opcode()] : "?") << " " << human_bytes(m.length())
            << (m.compressed() ? ", compressed" : "") << "]";
        if (m.opcode() == 8 && m.close_code() != 0)
            out << " " << m.close_code() << (m.close_reason().empty() ? "" : " " + m.close_reason());
        else if (!m.payload().empty() && looks_like_text(m.payload()) && !m.compressed())
            out << " " << m.payload().substr(0, 200) << (m.payload().size() > 200 || m.length() > m.payload().size() ? "..." : "");
        out << "\n";
    }
    if (c.websocket_messages_dropped() > 0)
        out << "* " << c.websocket_messages_dropped() << " more WebSocket messages not kept\n";
    if (c.response_body().state() != v1::BODY_STATE_EMPTY)
        out << body_line("response", c.response_body()) << "\n";
    std::string phases = "* send " + micros_text(std::max<std::int64_t>(0, t.send_us()));
    if (t.wait_us() >= 0) phases += ", wait " + micros_text(t.wait_us());
    if (t.receive_us() >= 0) phases += ", receive " + micros_text(t.receive_us());
    if (flow.has_done()) {
        phases += "; " + std::to_string(flow.done().status()) + " in " +
                  human_duration(flow.done().duration()) + ", " +
                  human_bytes(flow.done().request_bytes()) + " sent, " +
                  human_bytes(flow.done().response_bytes()) + " received";
        if (!flow.done().error().empty() && !flow.done().answered_by_proxy())
            phases += "; error: " + flow.done().error();
    }
    out << phases << "\n";
}

}  // namespace mproxy::ctl
