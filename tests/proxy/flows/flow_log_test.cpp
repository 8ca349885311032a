#include "proxy/flows/flow_log.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mproxy::proxy {
namespace {

FlowEvent event_for(std::uint64_t connection) {
    FlowEvent event;
    event.kind = FlowEventKind::request_head;
    event.connection_id = connection;
    return event;
}

TEST(FlowLog, NumbersEventsFromOneAndReadsThemInOrder) {
    FlowLog log(8);
    for (std::uint64_t i = 1; i <= 5; ++i) log.publish(event_for(i));
    const auto batch = log.read_after(0, 100);
    ASSERT_EQ(batch.events.size(), 5u);
    EXPECT_EQ(batch.missed, 0u);
    EXPECT_EQ(batch.cursor, 5u);
    for (std::uint64_t i = 0; i < 5; ++i) {
        EXPECT_EQ(batch.events[i]->event.sequence, i + 1);
        EXPECT_EQ(batch.events[i]->event.connection_id, i + 1);
    }
    EXPECT_EQ(log.last_sequence(), 5u);
}

TEST(FlowLog, ReadsInBatchesFromACursor) {
    FlowLog log(16);
    for (std::uint64_t i = 1; i <= 10; ++i) log.publish(event_for(i));
    auto batch = log.read_after(3, 4);
    ASSERT_EQ(batch.events.size(), 4u);
    EXPECT_EQ(batch.events.front()->event.sequence, 4u);
    EXPECT_EQ(batch.cursor, 7u);
    batch = log.read_after(batch.cursor, 100);
    ASSERT_EQ(batch.events.size(), 3u);
    EXPECT_EQ(batch.events.back()->event.sequence, 10u);
    EXPECT_TRUE(log.read_after(10, 100).events.empty());
}

TEST(FlowLog, AReaderBehindTheRingIsToldHowManyItMissed) {
    FlowLog log(4);
    for (std::uint64_t i = 1; i <= 10; ++i) log.publish(event_for(i));
    const auto batch = log.read_after(2, 100);
    EXPECT_EQ(batch.missed, 4u);  // 3, 4, 5 and 6 were overwritten
    ASSERT_EQ(batch.events.size(), 4u);
    EXPECT_EQ(batch.events.front()->event.sequence, 7u);
    EXPECT_EQ(batch.cursor, 10u);
}

TEST(FlowLog, ACursorPastTheEndReadsNothing) {
    FlowLog log(4);
    log.publish(event_for(1));
    const auto batch = log.read_after(50, 10);
    EXPECT_TRUE(batch.events.empty());
    EXPECT_EQ(batch.cursor, 1u);
}

TEST(FlowLog, NewestListsFilteredEventsNewestFirstAndPages) {
    FlowLog log(100);
    for (std::uint64_t i = 1; i <= 20; ++i) log.publish(event_for(i % 2));
    const auto odd = [](const FlowEvent& e) { return e.connection_id == 1; };
    auto page = log.newest(3, 0, odd);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page[0]->event.sequence, 19u);
    EXPECT_EQ(page[2]->event.sequence, 15u);
    page = log.newest(3, page.back()->event.sequence, odd);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page[0]->event.sequence, 13u);
}

TEST(FlowLog, AnEventReadStaysIntactAfterTheRingOverwritesIt) {
    FlowLog log(2);
    FlowEvent first = event_for(1);
    first.host = std::string(100, 'h');  // past the small-string buffer: a real allocation
    log.publish(std::move(first));
    const auto held = log.read_after(0, 1);
    ASSERT_EQ(held.events.size(), 1u);
    for (std::uint64_t i = 2; i <= 5; ++i) log.publish(event_for(i));
    EXPECT_EQ(log.read_after(0, 10).missed, 3u) << "event 1 is gone from the ring";
    EXPECT_EQ(held.events[0]->event.sequence, 1u);
    EXPECT_EQ(held.events[0]->event.host, std::string(100, 'h'));
    EXPECT_NE(held.events[0]->event.time.time_since_epoch().count(), 0);
}

TEST(FlowLog, AWaiterIsWokenOnceByTheNextEvent) {
    FlowLog log(8);
    log.publish(event_for(1));
    int woken = 0;
    const auto token = log.wait_after(1, [&] { ++woken; });
    EXPECT_NE(token, 0u);
    EXPECT_EQ(woken, 0);
    log.publish(event_for(2));
    EXPECT_EQ(woken, 1);
    log.publish(event_for(3));
    EXPECT_EQ(woken, 1);  // one-shot
    EXPECT_FALSE(log.cancel(token));
}

TEST(FlowLog, AWaiterBehindTheEndIsWokenAtOnce) {
    FlowLog log(8);
    log.publish(event_for(1));
    int woken = 0;
    EXPECT_EQ(log.wait_after(0, [&] { ++woken; }), 0u);
    EXPECT_EQ(woken, 1);
}

TEST(FlowLog, ACancelledWaiterIsNotWoken) {
    FlowLog log(8);
    int woken = 0;
    const auto token = log.wait_after(0, [&] { ++woken; });
    EXPECT_TRUE(log.cancel(token));
    log.publish(event_for(1));
    EXPECT_EQ(woken, 0);
}

TEST(FlowLog, CapacityZeroTurnsEventsOff) {
    FlowLog log(0);
    EXPECT_FALSE(log.enabled());
    log.publish(event_for(1));
    EXPECT_EQ(log.last_sequence(), 0u);
    EXPECT_TRUE(log.read_after(0, 10).events.empty());
}

TEST(FlowLog, ConcurrentPublishersNeverLoseOrRepeatASequence) {
    FlowLog log(100'000);
    constexpr int threads = 4, per_thread = 5'000;
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads; ++t)
        publishers.emplace_back([&log, t] {
            for (int i = 0; i < per_thread; ++i)
                log.publish(event_for(static_cast<std::uint64_t>(t)));
        });
    // A reader racing the publishers sees every sequence exactly once, in order.
    std::uint64_t cursor = 0, expected = 1;
    while (cursor < std::uint64_t{threads} * per_thread) {
        const auto batch = log.read_after(cursor, 1000);
        ASSERT_EQ(batch.missed, 0u);
        for (const auto& e : batch.events) ASSERT_EQ(e->event.sequence, expected++);
        cursor = batch.cursor;
    }
    for (auto& p : publishers) p.join();
    EXPECT_EQ(log.last_sequence(), std::uint64_t{threads} * per_thread);
}

// Records what the log feeds it. The "preparation" is the connection id as text, so that a test can
// tell which event each prepared string was made from.
class RecordingSink final : public FlowSink {
  public:
    static void prepare(const FlowEvent& event, std::string& out) {
        out = std::to_string(event.connection_id);
    }

    void attached(std::uint64_t last) override { attached_at.push_back(last); }
    void append(const FlowEvent& event, std::string_view prepared) override {
        // Under the log's lock: no lock of our own needed for the vectors.
        sequences.push_back(event.sequence);
        prepared_for.emplace_back(prepared);
        connections.push_back(event.connection_id);
    }

    std::vector<std::uint64_t> attached_at, sequences, connections;
    std::vector<std::string> prepared_for;
};

TEST(FlowLog, AnAttachedSinkIsFedEveryEventInOrderWithWhatItsPrepareMade) {
    FlowLog log(100);
    RecordingSink sink;
    log.publish(event_for(1));
    log.publish(event_for(2));
    log.attach_sink(sink, &RecordingSink::prepare);
    EXPECT_EQ(sink.attached_at, std::vector<std::uint64_t>{2})
        << "the newest event before the first append";
    for (std::uint64_t c = 3; c <= 6; ++c) log.publish(event_for(c));
    log.detach_sink();
    log.publish(event_for(7));

    EXPECT_EQ(sink.sequences, (std::vector<std::uint64_t>{3, 4, 5, 6}));
    EXPECT_EQ(sink.prepared_for, (std::vector<std::string>{"3", "4", "5", "6"}));
    EXPECT_EQ(log.last_sequence(), 7u);
}

TEST(FlowLog, ASinkAttachedWhilePublishersRunMissesNothingAfterItsStart) {
    FlowLog log(1'000'000);
    RecordingSink sink;
    constexpr int threads = 4, per_thread = 20'000;
    std::atomic<int> started{0};
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads; ++t)
        publishers.emplace_back([&log, &started, t] {
            started.fetch_add(1);
            for (int i = 0; i < per_thread; ++i)
                log.publish(event_for(static_cast<std::uint64_t>(t * per_thread + i)));
        });
    while (started.load() < threads) std::this_thread::yield();
    log.attach_sink(sink, &RecordingSink::prepare);
    for (auto& p : publishers) p.join();
    log.detach_sink();

    ASSERT_EQ(sink.attached_at.size(), 1u);
    const auto first = sink.attached_at.front() + 1;
    ASSERT_EQ(sink.sequences.size(), std::uint64_t{threads} * per_thread - first + 1);
    std::size_t unprepared = 0;
    for (std::size_t i = 0; i < sink.sequences.size(); ++i) {
        ASSERT_EQ(sink.sequences[i], first + i);
        // Prepared before the attach (and then empty), or prepared from this very event.
        if (sink.prepared_for[i].empty())
            ++unprepared;
        else
            ASSERT_EQ(sink.prepared_for[i], std::to_string(sink.connections[i]));
    }
    EXPECT_LE(unprepared, std::size_t{threads})
        << "only events already past prepare when the sink attached";
}

}  // namespace
}  // namespace mproxy::proxy
