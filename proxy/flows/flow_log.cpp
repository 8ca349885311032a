#include "proxy/flows/flow_log.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace mproxy::proxy {

std::string_view to_string(FlowEventKind kind) {
    switch (kind) {
        case FlowEventKind::connection_opened:
            return "connection_opened";
        case FlowEventKind::connection_closed:
            return "connection_closed";
        case FlowEventKind::connect_decision:
            return "connect_decision";
        case FlowEventKind::request_head:
            return "request_head";
        case FlowEventKind::interim_response:
            return "interim_response";
        case FlowEventKind::response_head:
            return "response_head";
        case FlowEventKind::exchange_done:
            return "exchange_done";
        case FlowEventKind::websocket_message:
            return "websocket_message";
        case FlowEventKind::tls_failure:
            return "tls_failure";
    }
    return "unknown";
}

FlowLog::FlowLog(std::size_t capacity) : capacity_(capacity) {
    ring_.resize(capacity);
}

void FlowLog::publish(FlowEvent&& event) {
    if (capacity_ == 0) return;
    // The one allocation, outside the lock; the event is immutable once in the ring, but its
    // sequence is only known under the lock, before anyone else can see it.
    auto logged = std::make_shared<LoggedFlowEvent>(std::move(event));
    logged->event.time = std::chrono::system_clock::now();
    // For a sink: prepared here, outside the lock, into a buffer each thread reuses.
    thread_local std::string prepared;
    prepared.clear();
    if (const auto prepare = prepare_.load(std::memory_order_acquire))
        prepare(logged->event, prepared);
    FlowEventPtr evicted;  // freed after the lock is released (when no reader holds it any more)
    std::map<std::uint64_t, std::function<void()>> to_wake;
    {
        std::lock_guard lock(mutex_);
        logged->event.sequence = ++last_;
        if (sink_) sink_->append(logged->event, prepared);
        evicted = std::exchange(ring_[(last_ - 1) % capacity_], std::move(logged));
        // The flag spares the common case (no one waiting: subscribers behind, or none) the swap.
        if (has_waiters_.load(std::memory_order_relaxed)) {
            to_wake.swap(waiters_);
            has_waiters_.store(false, std::memory_order_relaxed);
        }
    }
    for (auto& [token, wake] : to_wake) wake();
}

FlowLog::Batch FlowLog::read_after(std::uint64_t after, std::size_t max) const {
    Batch batch;
    std::lock_guard lock(mutex_);
    after = std::min(after, last_);
    const std::uint64_t oldest = last_ > capacity_ ? last_ - capacity_ + 1 : 1;
    if (after + 1 < oldest) {
        batch.missed = oldest - after - 1;
        after = oldest - 1;
    }
    const auto count = std::min<std::uint64_t>(max, last_ - after);
    batch.events.reserve(count);
    for (std::uint64_t seq = after + 1; seq <= after + count; ++seq)
        batch.events.push_back(ring_[(seq - 1) % capacity_]);
    batch.cursor = after + count;
    return batch;
}

std::vector<FlowEventPtr> FlowLog::newest(std::size_t max, std::uint64_t before,
                                          const std::function<bool(const FlowEvent&)>& keep) const {
    // Pointers are copied out a chunk at a time and filtered outside the lock, so a listing over a
    // large log never holds up the I/O threads that publish for more than one short chunk.
    constexpr std::size_t chunk_size = 1024;
    std::vector<FlowEventPtr> found, chunk;
    if (capacity_ == 0) return found;
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        seq = (before == 0 || before > last_) ? last_ : before - 1;
    }
    chunk.reserve(chunk_size);
    while (seq > 0 && found.size() < max) {
        chunk.clear();
        {
            std::lock_guard lock(mutex_);
            const std::uint64_t oldest = last_ > capacity_ ? last_ - capacity_ + 1 : 1;
            for (; seq >= oldest && seq > 0 && chunk.size() < chunk_size; --seq)
                chunk.push_back(ring_[(seq - 1) % capacity_]);
            if (seq < oldest)
                seq = 0;  // overwritten meanwhile, or the end of the log: stop after this chunk
        }
        if (chunk.empty()) break;
        for (auto& logged : chunk) {
            if (found.size() >= max) break;
            if (keep(logged->event)) found.push_back(std::move(logged));
        }
    }
    return found;
}

std::uint64_t FlowLog::wait_after(std::uint64_t after, std::function<void()> wake) {
    {
        std::lock_guard lock(mutex_);
        if (last_ <= after) {
            const auto token = next_token_++;
            waiters_.emplace(token, std::move(wake));
            has_waiters_.store(true, std::memory_order_relaxed);
            return token;
        }
    }
    wake();
    return 0;
}

bool FlowLog::cancel(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    const bool found = waiters_.erase(token) > 0;
    if (waiters_.empty()) has_waiters_.store(false, std::memory_order_relaxed);
    return found;
}

void FlowLog::attach_sink(FlowSink& sink, FlowEventPrepare prepare) {
    std::lock_guard lock(mutex_);
    sink_ = &sink;
    sink.attached(last_);
    prepare_.store(prepare, std::memory_order_release);
}

void FlowLog::detach_sink() {
    std::lock_guard lock(mutex_);
    sink_ = nullptr;
    prepare_.store(nullptr, std::memory_order_release);
}

std::uint64_t FlowLog::last_sequence() const {
    std::lock_guard lock(mutex_);
    return last_;
}

}  // namespace mproxy::proxy
