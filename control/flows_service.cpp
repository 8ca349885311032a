// FlowsService: WatchFlows streams the flow log from a cursor (WatchHub, in watch_flows); ListFlows
// and GetFlow read what the log still holds and what the capture store keeps; GetFlowBody and
// ExportHar stream from the store (flow_body_stream, har_export).

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/capture_translation.hpp"
#include "control/flow_body_stream.hpp"
#include "control/flow_filter.hpp"
#include "control/flow_translation.hpp"
#include "control/services.hpp"
#include "control/har_export.hpp"
#include "control/pulled_stream.hpp"
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
            std::optional<std::chrono::system_clock::time_point> since, until;
            if (request->has_since()) since = from_timestamp(request->since());
            if (request->has_until()) until = from_timestamp(request->until());
            const auto in_range = [&](std::chrono::system_clock::time_point started) {
                return (!since || started >= *since) && (!until || started < *until);
            };
            // Newest first by flow id: the log's exchanges and the store's, one entry per id (the
            // store's when both hold it, as it knows the capture). One more than a page tells
            // whether another page follows.
            std::map<std::uint64_t, v1::Flow, std::greater<>> page;
            auto done = context_.proxy.flows().newest(
                context_.proxy.flows().capacity(), 0, [&](const proxy::FlowEvent& event) {
                    return event.kind == proxy::FlowEventKind::exchange_done &&
                           (before == 0 || event.flow_id < before) &&
                           in_range(event.time - event.duration) && filter.passes(event);
                });
            const auto* store = context_.proxy.captures();
            // Summarised from the exchange_done alone: interim_responses stays 0 here (GetFlow
            // counts them), which spares a second walk of the log per page.
            for (const auto& logged : done) {
                page.emplace(logged->event.flow_id, summarize_flow({&logged->event, 1}, false));
                if (page.size() > page_size + 1) page.erase(std::prev(page.end()));
            }
            if (store) {
                for (auto& [id, flow] : page) flow.set_capture_state(v1::CAPTURE_STATE_NOT_STORED);
                proxy::CaptureQuery query;
                query.before_id = before;
                query.since = since;
                query.until = until;
                query.limit = page_size + 1;
                for (const auto& e : store->list(query, [&](const proxy::CapturedExchange& e) {
                         return filter.passes(done_event_of(e));
                     })) {
                    const auto event = done_event_of(e);
                    auto flow = summarize_flow({&event, 1}, false);
                    *flow.mutable_started() = to_timestamp(e.started);
                    flow.set_interim_responses(static_cast<std::uint32_t>(e.interim.size()));
                    flow.set_capture_state(v1::CAPTURE_STATE_STORED);
                    page.insert_or_assign(e.flow_id, std::move(flow));
                }
            }
            const bool more = page.size() > page_size;
            for (auto& [id, flow] : page) {
                if (static_cast<std::size_t>(response->flows_size()) == page_size) break;
                *response->add_flows() = std::move(flow);
            }
            if (more)
                response->set_next_page_token(
                    std::to_string(response->flows(response->flows_size() - 1).flow_id()));
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
            const auto* store = context_.proxy.captures();
            auto captured = store ? store->get(flow_id, false) : std::nullopt;
            if (found.empty() && !captured)
                return grpc::Status(grpc::StatusCode::NOT_FOUND,
                                    "flow " + std::to_string(flow_id) +
                                        " is neither in the flow log nor in the capture store "
                                        "(unknown, or gone from both)");
            std::vector<proxy::FlowEvent> events;  // oldest first
            events.reserve(found.size());
            for (auto it = found.rbegin(); it != found.rend(); ++it) events.push_back((*it)->event);
            if (captured) {
                // The store knows the exchange whole; the log adds its events when it still
                // holds them.
                const auto done = done_event_of(*captured);
                *response = summarize_flow({&done, 1}, false);
                *response->mutable_started() = to_timestamp(captured->started);
                response->set_interim_responses(
                    static_cast<std::uint32_t>(captured->interim.size()));
                for (const auto& event : events) to_proto(event, *response->add_events());
                to_proto(*captured, *response->mutable_capture());
                response->set_capture_state(v1::CAPTURE_STATE_STORED);
            } else {
                *response = summarize_flow(events, true);
                if (store) response->set_capture_state(v1::CAPTURE_STATE_NOT_STORED);
            }
            return grpc::Status::OK;
        });
    }

    grpc::ServerWriteReactor<v1::FlowBodyChunk>* GetFlowBody(
        grpc::CallbackServerContext* call, const v1::GetFlowBodyRequest* request) override {
        if (auto status = context_.auth.check(*call); !status.ok())
            return PulledStream<v1::FlowBodyChunk>::fail(status);
        return stream_flow_body(context_.proxy.captures(), *request);
    }

    grpc::ServerWriteReactor<v1::HarChunk>* ExportHar(grpc::CallbackServerContext* call,
                                                      const v1::ExportHarRequest* request) override {
        if (auto status = context_.auth.check(*call); !status.ok())
            return PulledStream<v1::HarChunk>::fail(status);
        return stream_har_export(context_.proxy.captures(), *request);
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
