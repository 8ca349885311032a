#include "proxy/flows/flow_recorder.hpp"

namespace mproxy::proxy {

namespace {
std::chrono::microseconds micros(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d);
}
}  // namespace

FlowEvent FlowRecorder::base(FlowEventKind kind) const {
    FlowEvent event;
    event.kind = kind;
    event.connection_id = connection_id_;
    event.client = client_;
    event.mode = mode_;
    return event;
}

FlowEvent FlowRecorder::flow_base(FlowEventKind kind) const {
    auto event = base(kind);
    event.flow_id = flow_id_;
    event.host = origin_.host;
    event.port = origin_.port;
    event.method = method_;
    event.path = path_;
    return event;
}

void FlowRecorder::connection_opened() {
    if (!log_.enabled()) return;
    log_.publish(base(FlowEventKind::connection_opened));
}

void FlowRecorder::connection_closed(const ConnectionCounters& counters, const std::string& error) {
    if (!log_.enabled()) return;
    auto event = base(FlowEventKind::connection_closed);
    event.host = origin_.host;
    event.port = origin_.port;
    constexpr auto relaxed = std::memory_order_relaxed;
    event.client_rx = counters.client_rx.load(relaxed);
    event.client_tx = counters.client_tx.load(relaxed);
    event.upstream_rx = counters.upstream_rx.load(relaxed);
    event.upstream_tx = counters.upstream_tx.load(relaxed);
    event.error = error;
    log_.publish(std::move(event));
}

void FlowRecorder::decision(const Authority& target, const RuleDecision& decision, std::string_view method) {
    origin_ = target;
    if (!log_.enabled()) return;
    auto event = base(FlowEventKind::connect_decision);
    event.host = target.host;
    event.port = target.port;
    event.method = method;
    event.rule_id = decision.rule_id;
    event.action = decision.action;
    event.reason = decision.reason;
    if (decision.action == ConnectAction::reject) event.status = decision.reject_status;
    log_.publish(std::move(event));
}

void FlowRecorder::request_head(const RequestHead& request, const Authority& origin) {
    flow_id_ = log_.next_flow_id();
    origin_ = origin;
    if (!log_.enabled()) return;
    method_ = request.method;
    path_ = request.target;
    auto event = flow_base(FlowEventKind::request_head);
    if (log_.wants_details()) event.fields = std::make_shared<const HeaderFields>(request.fields);
    log_.publish(std::move(event));
}

void FlowRecorder::interim_relayed(const ResponseHead& interim) {
    if (!log_.enabled()) return;
    auto event = flow_base(FlowEventKind::interim_response);
    event.status = interim.status;
    if (log_.wants_details()) event.fields = std::make_shared<const HeaderFields>(interim.fields);
    log_.publish(std::move(event));
}

void FlowRecorder::final_response(const ResponseHead& response) {
    if (!log_.enabled()) return;
    auto event = flow_base(FlowEventKind::response_head);
    event.status = response.status;
    if (log_.wants_details()) event.fields = std::make_shared<const HeaderFields>(response.fields);
    log_.publish(std::move(event));
}

void FlowRecorder::websocket_message(bool from_client, unsigned opcode, std::uint64_t length,
                                     std::string_view first_bytes) {
    if (!log_.enabled()) return;
    auto event = flow_base(FlowEventKind::websocket_message);
    event.from_client = from_client;
    event.opcode = opcode;
    event.length = length;
    constexpr std::size_t most = 1024;
    if (log_.wants_details())
        event.payload = std::make_shared<const std::string>(first_bytes.substr(0, most));
    log_.publish(std::move(event));
}

void FlowRecorder::exchange_done(const ExchangeOutcome& outcome) {
    if (!log_.enabled()) return;
    auto event = flow_base(FlowEventKind::exchange_done);
    event.status = outcome.status;
    event.request_bytes = outcome.request_head_bytes + outcome.request_body_bytes;
    event.response_bytes = outcome.response_head_bytes + outcome.response_body_bytes;
    event.time_to_first_byte = micros(outcome.time_to_first_byte);
    event.duration = micros(outcome.duration);
    event.error = outcome.error;
    log_.publish(std::move(event));
}

void FlowRecorder::answered(unsigned status, const std::string& error) {
    if (!log_.enabled()) return;
    auto event = flow_base(FlowEventKind::exchange_done);
    event.status = status;
    event.error = error;
    event.answered_by_proxy = true;
    log_.publish(std::move(event));
}

void FlowRecorder::tls_failure(const Authority& target, const std::string& server_name, bool upstream_side,
                               const std::string& error) {
    if (!log_.enabled()) return;
    auto event = base(FlowEventKind::tls_failure);
    event.flow_id = upstream_side ? flow_id_ : 0;
    event.host = target.host;
    event.port = target.port;
    event.server_name = server_name;
    event.upstream_side = upstream_side;
    event.error = error;
    log_.publish(std::move(event));
}

}  // namespace mproxy::proxy
