// FlowsService: WatchFlows streams the flow log from a cursor (WatchHub, in watch_flows); ListFlows
// and GetFlow read what the log still holds.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <vector>

#include "control/flow_filter.hpp"
#include "control/flow_translation.hpp"
#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "control/watch_flows.hpp"
#include "mproxy/v1/flows.grpc.pb.h"

namespace mproxy::control {

namespace {

constexpr std::uint32_t default_page_size = 100;
constexpr std::uint32_t max_page_size = 1000;

bool parse_page_token(const std::string& token, std::uint64_t& before) {
    if (token.empty()) {
        before = 0;
        return true;
    }
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), before);
    return error == std::errc() && end == token.data() + token.size() && before > 0;
}

class FlowsService final
    : public v1::FlowsService::WithRawCallbackMethod_WatchFlows<v1::FlowsService::CallbackService>,
      public StreamingService {
  public:
    explicit FlowsService(ControlContext& context)
        : context_(context), hub_(context.proxy.flows()) {}

    grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchFlows(
        grpc::CallbackServerContext* call, const grpc::ByteBuffer* request) override {
        return hub_.watch(context_, call, *request);
    }

    void finish_streams() override { hub_.finish_streams(); }

    grpc::ServerUnaryReactor* ListFlows(grpc::CallbackServerContext* call,
                                        const v1::ListFlowsRequest* request,
                                        v1::ListFlowsResponse* response) override {
        return unary_call(call, context_.auth, [&] {
            FlowFilter filter;
            if (auto status = FlowFilter::compile(request->filter(), filter); !status.ok())
                return status;
            std::uint64_t before = 0;
            if (!parse_page_token(request->page_token(), before))
                return grpc::Status(
                    grpc::StatusCode::INVALID_ARGUMENT,
                    "page_token: \"" + request->page_token() + "\" is not a token from ListFlows");
            const std::size_t page_size = request->page_size() == 0
                                              ? default_page_size
                                              : std::min(request->page_size(), max_page_size);
            // One more than a page tells whether another page follows.
            auto done = context_.proxy.flows().newest(
                page_size + 1, before, [&](const proxy::FlowEvent& event) {
                    return event.kind == proxy::FlowEventKind::exchange_done &&
                           filter.passes(event);
                });
            const bool more = done.size() > page_size;
            if (more) done.resize(page_size);
            // Summarised from the exchange_done alone: interim_responses stays 0 here (GetFlow
            // counts them), which spares a second walk of the log per page.
            for (const auto& logged : done)
                *response->add_flows() = summarize_flow({&logged->event, 1}, false);
            if (more) response->set_next_page_token(std::to_string(done.back()->event.sequence));
            response->set_log_id(context_.log_id);
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* GetFlow(grpc::CallbackServerContext* call,
                                      const v1::GetFlowRequest* request,
                                      v1::Flow* response) override {
        return unary_call(call, context_.auth, [&] {
            const auto flow_id = request->flow_id();
            if (flow_id == 0)
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "flow_id: required (0 is no flow)");
            auto& flows = context_.proxy.flows();
            const auto found = flows.newest(
                flows.capacity(), 0,
                [&](const proxy::FlowEvent& event) { return event.flow_id == flow_id; });
            if (found.empty())
                return grpc::Status(grpc::StatusCode::NOT_FOUND,
                                    "flow " + std::to_string(flow_id) +
                                        " has no events in the log (unknown or gone)");
            std::vector<proxy::FlowEvent> events;  // oldest first
            events.reserve(found.size());
            for (auto it = found.rbegin(); it != found.rend(); ++it) events.push_back((*it)->event);
            *response = summarize_flow(events, true);
            return grpc::Status::OK;
        });
    }

  private:
    ControlContext& context_;
    WatchHub hub_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_flows_service(ControlContext& context) {
    return std::make_unique<FlowsService>(context);
}

}  // namespace mproxy::control
