// FlowsService: WatchFlows streams the flow log from a cursor; ListFlows and GetFlow read what the
// log still holds.
//
// A WatchFlows stream is a write reactor with one write in flight. Its state lives in a WatchStream
// shared by the reactor, the worker tasks and (weakly) the log's waiter, so a wake-up that races
// with the end of the stream finds either a live state or nothing, never a deleted reactor. The
// log calls the waiter on a data-plane I/O thread; it only posts to the service's worker, which does
// the reading and the protobuf work. A subscriber that stops reading stops being woken (its write
// never completes), the log overwrites what it did not read, and it is told so with a Gap.

#include <grpcpp/support/server_callback.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "control/flow_filter.hpp"
#include "control/flow_translation.hpp"
#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/flows.grpc.pb.h"

namespace mproxy::control {

namespace {

constexpr std::size_t read_batch = 256;
constexpr std::uint32_t default_page_size = 100;
constexpr std::uint32_t max_page_size = 1000;

// What every stream of the service shares: the log, and the worker thread that serves wake-ups.
// It outlives every WatchStream (its destructor waits for the last one), so a stream may always
// post to the worker.
class WatchHub {
public:
    explicit WatchHub(proxy::FlowLog& flows) : flows_(flows) {}
    ~WatchHub() {
        // gRPC has ended every call (OnDone) before the service goes; what may remain are worker
        // tasks holding a stream for a moment.
        std::unique_lock lock(mutex_);
        ended_.wait(lock, [&] { return live_ == 0; });
    }

    proxy::FlowLog& flows() { return flows_; }
    boost::asio::thread_pool& worker() { return worker_; }

    void stream_started() {
        std::lock_guard lock(mutex_);
        ++live_;
    }
    void stream_ended() {
        std::lock_guard lock(mutex_);
        --live_;
        ended_.notify_all();
    }

private:
    proxy::FlowLog& flows_;
    std::mutex mutex_;
    std::condition_variable ended_;
    std::size_t live_ = 0;
    boost::asio::thread_pool worker_{1};  // last: joined first, while the members above still exist
};

class WatchReactor;

struct StreamStart {
    FlowFilter filter;
    std::string log_id;
    std::uint64_t cursor = 0;
    bool replay = false;     // since_sequence given: say caught_up once the replay reaches the end
    bool restarted = false;  // the client's log_id is another server's: say so in the first Gap
};

class WatchStream : public std::enable_shared_from_this<WatchStream> {
public:
    WatchStream(WatchHub& hub, WatchReactor* reactor, StreamStart start)
        : hub_(hub), reactor_(reactor), start_(std::move(start)), cursor_(start_.cursor) {
        hub_.stream_started();
        hub_.flows().subscribers.fetch_add(1, std::memory_order_relaxed);
    }
    ~WatchStream() { hub_.stream_ended(); }

    // Each takes the stream's lock: the gRPC threads and the worker call them concurrently.
    void pump() {
        std::lock_guard lock(mutex_);
        pump_locked();
    }
    void write_done(bool ok);
    void cancelled();
    void detach();  // the reactor is going away (OnDone)

private:
    void pump_locked();
    void fill_locked();
    void arm_waiter_locked();
    void disarm_waiter_locked();
    void finish_locked(const grpc::Status& status);
    void woken() {
        std::lock_guard lock(mutex_);
        waiting_ = false;
        waiter_ = 0;
        pump_locked();
    }
    v1::WatchFlowsResponse& enqueue() {
        auto& response = queue_.emplace_back();
        response.set_log_id(start_.log_id);
        return response;
    }

    WatchHub& hub_;
    std::mutex mutex_;
    WatchReactor* reactor_;  // null once OnDone ran
    const StreamStart start_;
    std::uint64_t cursor_;
    bool first_read_ = true;
    bool caught_up_sent_ = false;
    bool writing_ = false;
    bool finished_ = false;
    bool waiting_ = false;
    std::uint64_t waiter_ = 0;  // the log's token; 0 when the waiter fired at once
    std::deque<v1::WatchFlowsResponse> queue_;  // at most one batch (and a Gap) translated ahead
    v1::WatchFlowsResponse in_flight_;          // StartWrite's message, alive until OnWriteDone
};

class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchFlowsResponse> {
public:
    WatchReactor(const ControlContext& context, WatchHub& hub, grpc::CallbackServerContext* call,
                 const v1::WatchFlowsRequest& request) {
        StreamStart start;
        grpc::Status status = context.auth.check(*call);
        if (status.ok()) status = FlowFilter::compile(request.filter(), start.filter);
        if (!status.ok()) {
            Finish(status);
            return;
        }
        start.log_id = context.log_id;
        if (request.has_since_sequence()) {
            start.replay = true;
            start.restarted = !request.log_id().empty() && request.log_id() != context.log_id;
            start.cursor = start.restarted ? 0 : request.since_sequence();
        } else {
            start.cursor = hub.flows().last_sequence();
        }
        stream_ = std::make_shared<WatchStream>(hub, this, std::move(start));
        stream_->pump();
    }

    void OnWriteDone(bool ok) override { stream_->write_done(ok); }
    void OnCancel() override {
        if (stream_) stream_->cancelled();
    }
    void OnDone() override {
        if (stream_) stream_->detach();
        delete this;
    }

private:
    std::shared_ptr<WatchStream> stream_;
};

void WatchStream::write_done(bool ok) {
    std::lock_guard lock(mutex_);
    writing_ = false;
    if (!ok) {
        // The stream broke (client gone, server shutting down): nothing more can be written.
        finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream ended"));
        return;
    }
    pump_locked();
}

void WatchStream::cancelled() {
    std::lock_guard lock(mutex_);
    disarm_waiter_locked();
    finish_locked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
}

void WatchStream::detach() {
    std::lock_guard lock(mutex_);
    disarm_waiter_locked();
    reactor_ = nullptr;
    hub_.flows().subscribers.fetch_sub(1, std::memory_order_relaxed);
}

void WatchStream::finish_locked(const grpc::Status& status) {
    if (finished_ || !reactor_) return;
    finished_ = true;
    reactor_->Finish(status);
}

void WatchStream::disarm_waiter_locked() {
    // When cancel() fails the waiter is firing: its task will find the stream finished or detached.
    if (waiting_ && waiter_ != 0) hub_.flows().cancel(waiter_);
    waiting_ = false;
    waiter_ = 0;
}

void WatchStream::pump_locked() {
    if (!reactor_ || finished_ || writing_) return;
    if (queue_.empty()) fill_locked();
    if (queue_.empty()) {
        arm_waiter_locked();
        return;
    }
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    reactor_->StartWrite(&in_flight_);
}

void WatchStream::fill_locked() {
    // Batches whose events the filter all skips are read past at once: skipped events are not gaps.
    while (queue_.empty()) {
        auto batch = hub_.flows().read_after(cursor_, read_batch);
        const bool restart_gap = first_read_ && start_.restarted;
        first_read_ = false;
        if (batch.missed > 0 || restart_gap) {
            auto& gap = *enqueue().mutable_gap();
            gap.set_missed(batch.missed);
            gap.set_server_restarted(restart_gap);
            // The next event of the log; the filter may skip it and send a later one first.
            gap.set_resumed_at(batch.events.empty() ? batch.cursor + 1 : batch.events.front().sequence);
            hub_.flows().dropped_to_subscribers.fetch_add(batch.missed, std::memory_order_relaxed);
        }
        for (const auto& event : batch.events)
            if (start_.filter.passes(event)) to_proto(event, *enqueue().mutable_event());
        cursor_ = batch.cursor;
        if (batch.events.empty()) break;
    }
    if (queue_.empty() && start_.replay && !caught_up_sent_) {
        enqueue().set_caught_up(true);
        caught_up_sent_ = true;
    }
}

void WatchStream::arm_waiter_locked() {
    if (waiting_) return;
    waiting_ = true;
    // Runs on the publishing I/O thread (or here, at once, when an event already came): it only
    // hands the work to the worker. The weak pointer lets a stream end without unhooking in time.
    std::weak_ptr<WatchStream> weak = weak_from_this();
    waiter_ = hub_.flows().wait_after(cursor_, [weak] {
        if (auto stream = weak.lock()) {
            auto& worker = stream->hub_.worker();
            boost::asio::post(worker, [stream = std::move(stream)] { stream->woken(); });
        }
    });
}

bool parse_page_token(const std::string& token, std::uint64_t& before) {
    if (token.empty()) {
        before = 0;
        return true;
    }
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), before);
    return error == std::errc() && end == token.data() + token.size() && before > 0;
}

class FlowsService final : public v1::FlowsService::CallbackService {
public:
    explicit FlowsService(ControlContext& context) : context_(context), hub_(context.proxy.flows()) {}

    grpc::ServerWriteReactor<v1::WatchFlowsResponse>* WatchFlows(grpc::CallbackServerContext* call,
                                                                  const v1::WatchFlowsRequest* request) override {
        return new WatchReactor(context_, hub_, call, *request);
    }

    grpc::ServerUnaryReactor* ListFlows(grpc::CallbackServerContext* call, const v1::ListFlowsRequest* request,
                                        v1::ListFlowsResponse* response) override {
        return unary_call(call, context_.auth, [&] {
            FlowFilter filter;
            if (auto status = FlowFilter::compile(request->filter(), filter); !status.ok()) return status;
            std::uint64_t before = 0;
            if (!parse_page_token(request->page_token(), before))
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "page_token: \"" + request->page_token() + "\" is not a token from ListFlows");
            const std::size_t page_size =
                request->page_size() == 0 ? default_page_size : std::min(request->page_size(), max_page_size);
            // One more than a page tells whether another page follows.
            auto done = context_.proxy.flows().newest(page_size + 1, before, [&](const proxy::FlowEvent& event) {
                return event.kind == proxy::FlowEventKind::exchange_done && filter.passes(event);
            });
            const bool more = done.size() > page_size;
            if (more) done.resize(page_size);
            // Summarised from the exchange_done alone: interim_responses stays 0 here (GetFlow counts them),
            // which spares a second walk of the log per page.
            for (const auto& event : done) *response->add_flows() = summarize_flow({&event, 1}, false);
            if (more) response->set_next_page_token(std::to_string(done.back().sequence));
            response->set_log_id(context_.log_id);
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* GetFlow(grpc::CallbackServerContext* call, const v1::GetFlowRequest* request,
                                      v1::Flow* response) override {
        return unary_call(call, context_.auth, [&] {
            const auto flow_id = request->flow_id();
            if (flow_id == 0)
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "flow_id: required (0 is no flow)");
            auto& flows = context_.proxy.flows();
            auto events = flows.newest(flows.capacity(), 0,
                                       [&](const proxy::FlowEvent& event) { return event.flow_id == flow_id; });
            if (events.empty())
                return grpc::Status(grpc::StatusCode::NOT_FOUND,
                                    "flow " + std::to_string(flow_id) + " has no events in the log (unknown or gone)");
            std::reverse(events.begin(), events.end());
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
