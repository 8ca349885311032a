#include "control/watch_flows.hpp"

#include <google/protobuf/io/coded_stream.h>

#include <grpc/slice.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control/flow_filter.hpp"
#include "control/flow_translation.hpp"
#include "control/flow_wire.hpp"
#include "mproxy/v1/flows.grpc.pb.h"

namespace mproxy::control {

namespace {

constexpr std::size_t read_batch = 512;
// A batch stops growing here, far below a client's default 4 MiB message limit.
constexpr std::size_t max_message_bytes = 1 << 20;
// The least time from one write of a stream to the next: the delay a live event may wait for.
constexpr auto min_write_interval = std::chrono::milliseconds(5);
// From a write of at least busy_batch events to the next, while the stream keeps up.
constexpr auto busy_write_interval = std::chrono::milliseconds(50);
constexpr std::uint64_t busy_batch = 256;

// The first multiple of `interval` (on the steady clock) after `now`: streams that write at the
// same pace wait for the same instants, so that their timers expire together and the worker wakes
// once for all of them rather than once for each.
std::chrono::steady_clock::time_point next_tick(std::chrono::steady_clock::time_point now,
                                                std::chrono::steady_clock::duration interval) {
    return std::chrono::steady_clock::time_point((now.time_since_epoch() / interval + 1) *
                                                 interval);
}

}  // namespace

// An `events` entry of WatchFlowsResponse: the event as the wire writes it, then its details.
static std::size_t detail_field_size(const FlowEventWire& wire, const std::string& detail) {
    if (detail.empty()) return wire.field_size();
    const auto length = wire.size() + detail.size();
    return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(length) + length;
}

static std::uint8_t* write_detail_field(const FlowEventWire& wire, const std::string& detail,
                                 std::uint8_t* out) {
    if (detail.empty()) return wire.write_field(out);
    using google::protobuf::io::CodedOutputStream;
    *out++ = (2 << 3) | 2;  // WatchFlowsResponse.events, length-delimited
    out = CodedOutputStream::WriteVarint64ToArray(wire.size() + detail.size(), out);
    out = wire.write(out);
    return CodedOutputStream::WriteRawToArray(detail.data(), static_cast<int>(detail.size()), out);
}

class WatchReactor;

struct StreamStart {
    FlowFilter filter;
    std::string log_id;
    std::uint64_t cursor = 0;
    bool replay = false;     // since_sequence given: say caught_up once the replay reaches the end
    bool restarted = false;  // the client's log_id is another server's: say so in the first Gap
    bool details = false;    // include_headers: events with their fields and payloads
};

struct MessageBody;

class WatchStream : public std::enable_shared_from_this<WatchStream> {
  public:
    WatchStream(WatchHub& hub, WatchReactor* reactor, StreamStart start)
        : hub_(hub),
          reactor_(reactor),
          start_(std::move(start)),
          head_(watch_response_head(start_.log_id)),
          cursor_(start_.cursor),
          timer_(hub.worker()) {
        hub_.stream_started();
        hub_.flows().subscribers.fetch_add(1, std::memory_order_relaxed);
        if (start_.details) hub_.flows().detail_subscribers.fetch_add(1, std::memory_order_relaxed);
        if (reads_tail()) hub_.tail().acquire();
    }
    ~WatchStream() {
        if (reads_tail()) hub_.tail().release();
        if (start_.details) hub_.flows().detail_subscribers.fetch_sub(1, std::memory_order_relaxed);
        hub_.stream_ended(this);
    }

    // Each takes the stream's lock: the gRPC threads and the worker call them concurrently.
    void pump() {
        std::lock_guard lock(mutex_);
        pump_locked();
    }
    void write_done(bool ok);
    void cancelled();
    void shut_down();  // the server is stopping
    void detach();     // the reactor is going away (OnDone)

  private:
    // Every event passes, as the shared encodings have it (no details): the stream sends those.
    bool reads_tail() const { return start_.filter.passes_everything() && !start_.details; }
    void pump_locked();
    bool next_message_locked();
    std::optional<MessageBody> unfiltered_body_locked();
    MessageBody filtered_body_locked();
    void arm_waiter_locked();
    void disarm_waiter_locked();
    void finish_locked(const grpc::Status& status);
    void woken() {
        std::lock_guard lock(mutex_);
        waiting_ = false;
        waiter_ = 0;
        pump_locked();
    }
    void delay_over() {
        std::lock_guard lock(mutex_);
        delayed_ = false;
        pump_locked();
    }

    WatchHub& hub_;
    std::mutex mutex_;
    WatchReactor* reactor_;  // null once OnDone ran
    const StreamStart start_;
    const grpc::Slice head_;  // every message's log_id field
    std::uint64_t cursor_;
    bool first_read_ = true;
    bool caught_up_sent_ = false;
    bool writing_ = false;
    bool finished_ = false;
    bool waiting_ = false;
    std::uint64_t waiter_ = 0;      // the log's token; 0 when the waiter fired at once
    bool delayed_ = false;          // the timer will pump at next_write_
    bool behind_ = false;           // the last message stopped short of the end of the log
    std::uint64_t last_batch_ = 0;  // events in the last message
    std::chrono::steady_clock::time_point next_write_;
    boost::asio::steady_timer timer_;  // on the worker
    grpc::ByteBuffer in_flight_;       // StartWrite's message, alive until OnWriteDone
};

WatchHub::~WatchHub() {
    // gRPC has ended every call (OnDone) before the service goes; what may remain are worker
    // tasks holding a stream for a moment.
    std::unique_lock lock(mutex_);
    ended_.wait(lock, [&] { return live_ == 0; });
}

void WatchHub::stream_started() {
    std::lock_guard lock(mutex_);
    ++live_;
}

void WatchHub::stream_ended(const WatchStream* stream) {
    std::lock_guard lock(mutex_);
    open_.erase(stream);
    --live_;
    ended_.notify_all();
}

bool WatchHub::add(const std::shared_ptr<WatchStream>& stream) {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
    open_.emplace(stream.get(), stream);
    return true;
}

void WatchHub::finish_streams() {
    std::vector<std::shared_ptr<WatchStream>> streams;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        for (auto& [key, weak] : open_)
            if (auto stream = weak.lock()) streams.push_back(std::move(stream));
    }
    // Outside the hub's lock: the last reference to a stream may go here, and its destructor takes
    // it.
    for (auto& stream : streams) stream->shut_down();
}

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
  public:
    WatchReactor(const ControlContext& context, WatchHub& hub, grpc::CallbackServerContext* call,
                 const grpc::ByteBuffer& raw_request) {
        StreamStart start;
        v1::WatchFlowsRequest request;
        grpc::Status status = context.auth.check(*call);
        if (status.ok()) {
            grpc::ByteBuffer buffer(
                raw_request);  // shares the slices; Deserialize empties its argument
            status =
                grpc::SerializationTraits<v1::WatchFlowsRequest>::Deserialize(&buffer, &request);
            if (!status.ok())
                status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      "not a WatchFlowsRequest: " + status.error_message());
        }
        if (status.ok()) status = FlowFilter::compile(request.filter(), start.filter);
        if (!status.ok()) {
            Finish(status);
            return;
        }
        start.log_id = context.log_id;
        start.details = request.include_headers();
        if (request.has_since_sequence()) {
            start.replay = true;
            start.restarted = !request.log_id().empty() && request.log_id() != context.log_id;
            start.cursor = start.restarted ? 0 : request.since_sequence();
        } else {
            start.cursor = hub.flows().last_sequence();
        }
        stream_ = std::make_shared<WatchStream>(hub, this, std::move(start));
        if (!hub.add(stream_)) {
            stream_->shut_down();
            return;
        }
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
    in_flight_.Clear();
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

void WatchStream::shut_down() {
    std::lock_guard lock(mutex_);
    disarm_waiter_locked();
    finish_locked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping"));
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
    if (!reactor_ || finished_ || writing_ || delayed_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_write_) {
        // Too soon after the last write: let events gather. The weak pointer, as for the waiter.
        delayed_ = true;
        timer_.expires_at(next_write_);
        timer_.async_wait([weak = weak_from_this()](const boost::system::error_code&) {
            if (auto stream = weak.lock()) stream->delay_over();
        });
        return;
    }
    if (!next_message_locked()) {
        arm_waiter_locked();
        return;
    }
    writing_ = true;
    // A stream behind the log writes again as soon as it can, each batch a full one.
    next_write_ = behind_ ? now
                          : next_tick(now, last_batch_ >= busy_batch ? busy_write_interval
                                                                     : min_write_interval);
    reactor_->StartWrite(&in_flight_);
}

// What a message carries before its trailer: the events' bytes and what the reads found.
struct MessageBody {
    std::vector<grpc::Slice> slices;
    std::uint64_t events = 0;
    std::uint64_t missed = 0;      // events lost before these
    std::uint64_t resumed_at = 0;  // when missed: the sequence of the next event of the log
    bool at_end = false;           // the reads reached the newest event
};

std::optional<MessageBody> WatchStream::unfiltered_body_locked() {
    // Every event passes: the shared encodings, pointed at rather than copied.
    auto read = hub_.tail().read_after(cursor_, max_message_bytes);
    if (!read.covered)
        return std::nullopt;  // older than the tail: the log, as a filtered stream does
    cursor_ = read.cursor;
    MessageBody body;
    body.slices = std::move(read.slices);
    body.events = read.events;
    body.missed = read.missed;
    body.resumed_at = read.events > 0 ? read.first : read.cursor + 1;
    body.at_end = read.at_end;
    return body;
}

MessageBody WatchStream::filtered_body_locked() {
    MessageBody body;
    // The events that pass, measured first and then written into one buffer of the stream's own:
    // a filter that skips most events would make the shared encodings a slice per event.
    std::vector<proxy::FlowEventPtr> passed;
    std::vector<FlowEventWire> wires;
    // include_headers: each event's details, encoded by protobuf as fields of the FlowEvent message
    // that follow those the wire writes (a parser takes fields in any order).
    std::vector<std::string> details;
    std::size_t bytes = 0;
    // Another read only while the message has no event yet, so a Gap always comes before them all;
    // reads whose events the filter all skips are read past at once: skipped events are not gaps.
    for (;;) {
        auto batch = hub_.flows().read_after(cursor_, read_batch);
        if (batch.missed > 0) {
            body.missed += batch.missed;
            // The next event of the log; the filter may skip it and send a later one first.
            body.resumed_at =
                batch.events.empty() ? batch.cursor + 1 : batch.events.front()->event.sequence;
        }
        std::size_t used = 0;
        for (; used < batch.events.size(); ++used) {
            auto& logged = batch.events[used];
            if (!start_.filter.passes(logged->event)) continue;
            const auto& wire = wires.emplace_back(logged->event);
            auto& detail = details.emplace_back();
            if (start_.details && (logged->event.fields || logged->event.payload)) {
                v1::FlowEvent only_details;
                add_details(logged->event, only_details);
                only_details.SerializeToString(&detail);
            }
            const auto size = detail_field_size(wire, detail);
            if (!passed.empty() && bytes + size > max_message_bytes) {  // the rest next time
                wires.pop_back();
                details.pop_back();
                break;
            }
            bytes += size;
            passed.push_back(std::move(logged));  // keeps the event `wire` reads alive
        }
        const bool all_used = used == batch.events.size();
        cursor_ = all_used ? batch.cursor : batch.events[used]->event.sequence - 1;
        body.at_end = all_used && batch.events.size() < read_batch;
        if (!passed.empty() || body.at_end) break;
    }
    if (passed.empty()) return body;
    grpc_slice raw = grpc_slice_malloc(bytes);
    auto* out = GRPC_SLICE_START_PTR(raw);
    for (std::size_t i = 0; i < wires.size(); ++i) out = write_detail_field(wires[i], details[i], out);
    body.slices.emplace_back(raw, grpc::Slice::STEAL_REF);
    body.events = passed.size();
    return body;
}

bool WatchStream::next_message_locked() {
    const bool restart_gap = first_read_ && start_.restarted;
    first_read_ = false;
    const auto before = cursor_;
    std::optional<MessageBody> body;
    if (reads_tail()) body = unfiltered_body_locked();
    if (!body) body = filtered_body_locked();
    behind_ = !body->at_end;
    last_batch_ = body->events;
    std::optional<v1::Gap> gap;
    if (body->missed > 0 || restart_gap) {
        gap.emplace();
        gap->set_missed(body->missed);
        gap->set_server_restarted(restart_gap);
        gap->set_resumed_at(body->missed > 0 ? body->resumed_at : before + 1);
        hub_.flows().dropped_to_subscribers.fetch_add(body->missed, std::memory_order_relaxed);
    }
    const bool caught_up = body->at_end && start_.replay && !caught_up_sent_;
    if (caught_up) caught_up_sent_ = true;
    if (body->events == 0 && !gap && !caught_up) return false;

    // log_id, the events, then gap and caught_up: the order SerializeToString gives.
    std::vector<grpc::Slice> slices;
    slices.reserve(body->slices.size() + 2);
    if (head_.size() > 0) slices.push_back(head_);
    for (auto& slice : body->slices) slices.push_back(std::move(slice));
    if (gap || caught_up)
        slices.emplace_back(watch_response_trailer(gap ? &*gap : nullptr, caught_up));
    in_flight_ = grpc::ByteBuffer(slices.data(), slices.size());
    return true;
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

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchHub::watch(const ControlContext& context,
                                                            grpc::CallbackServerContext* call,
                                                            const grpc::ByteBuffer& request) {
    return new WatchReactor(context, *this, call, request);
}

}  // namespace mproxy::control
