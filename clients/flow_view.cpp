#include "clients/flow_view.hpp"

#include "clients/formatting.hpp"

namespace mproxy::ctl {

namespace {

std::string target(const std::string& host, std::uint32_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    std::string text = v6 ? std::string("[").append(host).append("]") : host;
    return text.append(":").append(std::to_string(port));
}

std::string with_error(std::string text, const std::string& error) {
    if (!error.empty()) text += " error: " + error;
    return text;
}

std::string event_details(const v1::FlowEvent& e) {
    switch (e.kind_case()) {
        case v1::FlowEvent::kConnectionClosed: {
            const auto& c = e.connection_closed();
            return with_error("client rx " + human_bytes(c.client_rx_bytes()) + " tx " +
                                  human_bytes(c.client_tx_bytes()) + ", upstream rx " +
                                  human_bytes(c.upstream_rx_bytes()) + " tx " +
                                  human_bytes(c.upstream_tx_bytes()),
                              c.error());
        }
        case v1::FlowEvent::kConnectDecision: {
            const auto& d = e.connect_decision();
            std::string text = action_name(d.action());
            if (d.action() == v1::ACTION_REJECT)
                text.append(" ").append(std::to_string(d.reject_status()));
            if (d.rule_id().empty())
                text.append(" by the default action");
            else
                text.append(" by rule ").append(d.rule_id());
            if (!d.reason().empty()) text.append(" (").append(d.reason()).append(")");
            return text;
        }
        case v1::FlowEvent::kRequestHead:
            return e.request_head().method() + " " + e.request_head().path();
        case v1::FlowEvent::kInterimResponse:
            return std::to_string(e.interim_response().status());
        case v1::FlowEvent::kResponseHead:
            return std::to_string(e.response_head().status());
        case v1::FlowEvent::kExchangeDone: {
            const auto& d = e.exchange_done();
            return with_error(std::to_string(d.status()) + " " + e.method() + " " + e.path() +
                                  ", sent " + human_bytes(d.request_bytes()) + ", received " +
                                  human_bytes(d.response_bytes()) + ", first byte " +
                                  human_duration(d.time_to_first_byte()) + ", total " +
                                  human_duration(d.duration()) +
                                  (d.answered_by_proxy() ? ", answered by mproxy" : ""),
                              d.error());
        }
        case v1::FlowEvent::kTlsFailure: {
            const auto& t = e.tls_failure();
            return std::string(t.upstream() ? "with the origin" : "with the client") + " for " +
                   t.server_name() + ": " + t.error();
        }
        case v1::FlowEvent::kWebsocketMessage: {
            const auto& w = e.websocket_message();
            static const char* const names[] = {"continuation", "text", "binary", "3", "4", "5",
                                                "6", "7", "close", "ping", "pong"};
            std::string text = std::string(w.from_client() ? "client -> origin " : "origin -> client ") +
                               (w.opcode() < 11 ? names[w.opcode()] : "?") + " " +
                               human_bytes(w.length());
            if (!e.payload().empty()) text += ": " + e.payload().substr(0, 120);
            return text;
        }
        default:
            return "";
    }
}

}  // namespace

std::string event_kind(const v1::FlowEvent& event) {
    const auto* oneof = event.GetDescriptor()->FindOneofByName("kind");
    const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
    return field ? field->name() : "unknown";
}

std::string event_line(const v1::FlowEvent& e) {
    std::string line = std::to_string(e.sequence());
    line.append(" ")
        .append(time_of_day(e.time()))
        .append(" conn ")
        .append(std::to_string(e.connection_id()));
    if (e.flow_id() != 0) line.append(" flow ").append(std::to_string(e.flow_id()));
    line.append(" ")
        .append(event_kind(e))
        .append(" ")
        .append(mode_name(e.mode()))
        .append(" ")
        .append(e.client());
    if (!e.host().empty()) line.append(" -> ").append(target(e.host(), e.port()));
    const auto details = event_details(e);
    if (!details.empty()) line.append(" ").append(details);
    return line;
}

std::string gap_line(const v1::Gap& gap) {
    std::string line = gap.server_restarted()
                           ? "-- the server restarted: its flow log starts again"
                           : "-- missed " + std::to_string(gap.missed()) + " events";
    return line.append(" (resumed at ").append(std::to_string(gap.resumed_at())).append(")");
}

const std::vector<std::string>& flow_headers() {
    static const std::vector<std::string> headers{"FLOW",   "CONN",   "STARTED",  "CLIENT",
                                                  "MODE",   "METHOD", "TARGET",   "PATH",
                                                  "STATUS", "SENT",   "RECEIVED", "DURATION",
                                                  "CAPTURED"};
    return headers;
}

std::vector<std::string> flow_cells(const v1::Flow& f) {
    const bool done = f.has_done();
    return {std::to_string(f.flow_id()),
            std::to_string(f.connection_id()),
            timestamp_text(f.started()),
            f.client(),
            mode_name(f.mode()),
            f.method(),
            target(f.host(), f.port()),
            f.path(),
            done ? std::to_string(f.done().status()) : "-",
            done ? human_bytes(f.done().request_bytes()) : "-",
            done ? human_bytes(f.done().response_bytes()) : "-",
            done ? human_duration(f.done().duration()) : "running",
            // In the capture store: flows show has its fields, flows body its bodies.
            f.capture_state() == v1::CAPTURE_STATE_STORED ? "yes" : "-"};
}

}  // namespace mproxy::ctl
