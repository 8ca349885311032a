#pragma once
// The bounded in-memory log of flow events. Worker threads publish; subscribers read from a cursor
// at their own pace. Publishing never waits for a subscriber: when one falls more than `capacity`
// events behind, the oldest are overwritten and the reader is told how many it missed.
//
// The ring holds shared pointers to immutable events: a publisher builds its event outside the lock
// and only swaps a pointer in under it; a reader copies pointers out, never strings, so the lock
// the data-plane threads take is held for a moment whatever the subscribers do.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "proxy/flows/flow_event.hpp"
#include "proxy/flows/flow_sink.hpp"

namespace mproxy::proxy {

class FlowLog {
  public:
    explicit FlowLog(std::size_t capacity);

    // Assigns the next sequence number and the time, stores the event, and wakes the waiters.
    // A log of capacity 0 drops everything (events off).
    void publish(FlowEvent&& event);
    bool enabled() const { return capacity_ > 0; }

    struct Batch {
        std::vector<FlowEventPtr> events;  // in sequence order
        std::uint64_t missed = 0;          // events after the cursor that were already overwritten
        std::uint64_t cursor = 0;  // pass back to read the next batch: the last sequence seen
    };
    // Events with sequence > after, at most `max`, oldest first.
    Batch read_after(std::uint64_t after, std::size_t max) const;
    // Every event still held, filtered and newest first, for listing; `before` 0 means from the
    // newest.
    std::vector<FlowEventPtr> newest(std::size_t max, std::uint64_t before,
                                     const std::function<bool(const FlowEvent&)>& keep) const;

    // Calls `wake` once, on the publishing thread, as soon as an event with sequence > after exists
    // (at once, on the caller's thread, when one already does). Returns a token for cancel().
    // The callback must be quick and must not call back into the log.
    std::uint64_t wait_after(std::uint64_t after, std::function<void()> wake);
    // Drops a waiter that has not fired yet; returns false when it has fired or is firing.
    bool cancel(std::uint64_t token);

    // Feeds `sink` every event published from now on, until detach_sink(): `prepare` runs on the
    // publishing thread outside the lock, append() under it. One sink at a time; it must stay alive
    // until detach_sink() returns.
    void attach_sink(FlowSink& sink, FlowEventPrepare prepare);
    void detach_sink();

    std::uint64_t last_sequence() const;
    std::size_t capacity() const { return capacity_; }

    // For the metrics: subscribers count themselves here.
    // Exchange ids, increasing by one across all connections, from 1 or from where
    // start_flow_ids_at() says (unique across restarts: FlowIdReservation).
    std::uint64_t next_flow_id() { return next_flow_id_.fetch_add(1, std::memory_order_relaxed); }
    // Before any exchange: the first id this run hands out.
    void start_flow_ids_at(std::uint64_t first) {
        next_flow_id_.store(first, std::memory_order_relaxed);
    }
    // The last id handed out (the first one's predecessor when none was).
    std::uint64_t last_flow_id() const { return next_flow_id_.load(std::memory_order_relaxed) - 1; }

    std::atomic<std::uint64_t> subscribers{0};
    // Subscribers that want head fields and WebSocket payloads (WatchFlows include_headers): the
    // data plane copies them into events only while there is one.
    std::atomic<std::uint64_t> detail_subscribers{0};
    bool wants_details() const { return detail_subscribers.load(std::memory_order_relaxed) > 0; }
    std::atomic<std::uint64_t> dropped_to_subscribers{0};

  private:
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<FlowEventPtr> ring_;  // slot = (sequence - 1) % capacity
    std::uint64_t last_ = 0;          // sequence of the newest event
    std::atomic<bool> has_waiters_{false};
    FlowSink* sink_ = nullptr;  // under mutex_
    // The sink's prepare function, read without the lock: publishers prepare before they lock.
    std::atomic<FlowEventPrepare> prepare_{nullptr};
    std::atomic<std::uint64_t> next_flow_id_{1};
    std::map<std::uint64_t, std::function<void()>>
        waiters_;  // token -> wake; all wait for "newer than last_"
    std::uint64_t next_token_ = 1;
};

}  // namespace mproxy::proxy
