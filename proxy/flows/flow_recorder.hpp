#pragma once
// A client session's voice in the flow log: builds the events of one connection and its exchanges
// and publishes them. Costs nothing beyond a flag test when the log is off.

#include <cstdint>
#include <string>

#include "proxy/accounting/connection_stats.hpp"
#include "proxy/flows/flow_log.hpp"
#include "proxy/http/authority.hpp"
#include "proxy/http/exchange_outcome.hpp"
#include "proxy/http/http_head.hpp"
#include "proxy/rules/rule_set.hpp"

namespace mproxy::proxy {

class FlowRecorder final : public ExchangeObserver {
public:
    FlowRecorder(FlowLog& log, std::uint64_t connection_id, std::string client)
        : log_(log), connection_id_(connection_id), client_(std::move(client)) {}

    void set_mode(ConnectionMode mode) { mode_ = mode; }
    ConnectionMode mode() const { return mode_; }
    // The flow (exchange) the latest request_head() began.
    std::uint64_t flow_id() const { return flow_id_; }

    void connection_opened();
    void connection_closed(const ConnectionCounters& counters, const std::string& error);
    void decision(const Authority& target, const RuleDecision& decision, std::string_view method);
    // Starts a new flow (exchange); the events that follow belong to it until the next one.
    void request_head(const RequestHead& request, const Authority& origin);
    void interim_relayed(const ResponseHead& interim) override;
    void final_response(const ResponseHead& response) override;
    void websocket_message(bool from_client, unsigned opcode, std::uint64_t length,
                           std::string_view first_bytes) override;
    void exchange_done(const ExchangeOutcome& outcome);
    // An exchange mproxy answered itself (a reject, a failure to reach the origin).
    void answered(unsigned status, const std::string& error);
    void tls_failure(const Authority& target, const std::string& server_name, bool upstream_side,
                     const std::string& error);

private:
    FlowEvent base(FlowEventKind kind) const;
    FlowEvent flow_base(FlowEventKind kind) const;

    FlowLog& log_;
    const std::uint64_t connection_id_;
    const std::string client_;
    ConnectionMode mode_ = ConnectionMode::plain;
    std::uint64_t flow_id_ = 0;
    Authority origin_;
    std::string method_, path_;
};

}  // namespace mproxy::proxy
