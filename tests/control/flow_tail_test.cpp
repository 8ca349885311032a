// EncodedFlowTail: the log's events encoded once, as they are published, into shared slices. What a
// read returns (the events in order, as WatchFlowsResponse bytes), how it splits at a byte budget,
// what it reports as missed when the log overwrote events, that two readers share the bytes instead
// of copying, and that it holds only what came while a stream held it.

#include "control/encoded_flow_tail.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "control/flow_wire.hpp"

#include "mproxy/v1/flows.pb.h"

namespace mproxy::control {
namespace {

void publish(proxy::FlowLog& log, int count) {
    for (int i = 0; i < count; ++i) {
        proxy::FlowEvent event;
        event.kind = proxy::FlowEventKind::exchange_done;
        event.connection_id = 9;
        event.client = "192.0.2.1:40000";
        event.host = "origin.example";
        event.path.assign(static_cast<std::size_t>(1 + i % 40), 'x');  // sizes vary
        event.path.front() = '/';
        event.status = 200;
        log.publish(std::move(event));
    }
}

// The read's bytes as the WatchFlowsResponse they are the events of, and their sequences.
std::vector<std::uint64_t> sequences(const EncodedFlowTail::Read& read) {
    std::string bytes;
    for (const auto& slice : read.slices)
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    EXPECT_EQ(bytes.size(), read.bytes);
    v1::WatchFlowsResponse response;
    EXPECT_TRUE(response.ParseFromString(bytes));
    std::vector<std::uint64_t> found;
    for (const auto& event : response.events()) {
        EXPECT_TRUE(event.has_exchange_done());
        EXPECT_EQ(event.host(), "origin.example");
        found.push_back(event.sequence());
    }
    EXPECT_EQ(found.size(), read.events);
    return found;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> all;
    for (auto seq = first; seq <= last; ++seq) all.push_back(seq);
    return all;
}

// A read at `after` finds nothing new and leaves the cursor at `cursor`, the newest event.
void expect_nothing_after(EncodedFlowTail& tail, std::uint64_t after, std::uint64_t cursor) {
    const auto read = tail.read_after(after, 1 << 20);
    EXPECT_EQ(read.events, 0u);
    EXPECT_EQ(read.missed, 0u);
    EXPECT_EQ(read.cursor, cursor);
    EXPECT_TRUE(read.at_end);
    EXPECT_TRUE(read.slices.empty());
}

TEST(EncodedFlowTail, ReadsEveryEventAfterTheCursorInOrder) {
    proxy::FlowLog log(10'000);
    EncodedFlowTail tail(log);
    tail.acquire();
    publish(log, 3000);  // several chunks
    auto read = tail.read_after(0, 1 << 20);
    EXPECT_EQ(sequences(read), range(1, 3000));
    EXPECT_EQ(read.missed, 0u);
    EXPECT_EQ(read.first, 1u);
    EXPECT_EQ(read.cursor, 3000u);
    EXPECT_TRUE(read.at_end);
    EXPECT_GT(read.slices.size(), 1u) << "3000 events span more than one chunk";

    read = tail.read_after(1234, 1 << 20);
    EXPECT_EQ(sequences(read), range(1235, 3000));

    publish(log, 5);
    read = tail.read_after(3000, 1 << 20);
    EXPECT_EQ(sequences(read), range(3001, 3005));
    expect_nothing_after(tail, 3005, 3005);
}

TEST(EncodedFlowTail, StopsAtTheByteBudgetButNeverBelowOneEvent) {
    proxy::FlowLog log(1000);
    EncodedFlowTail tail(log);
    tail.acquire();
    publish(log, 500);
    std::vector<std::uint64_t> all;
    std::uint64_t cursor = 0;
    int reads = 0;
    for (bool at_end = false; !at_end; ++reads) {
        const auto read = tail.read_after(cursor, 1000);
        EXPECT_LE(read.bytes, 1000u);
        EXPECT_GT(read.events, 0u);
        const auto got = sequences(read);
        all.insert(all.end(), got.begin(), got.end());
        cursor = read.cursor;
        at_end = read.at_end;
    }
    EXPECT_EQ(all, range(1, 500)) << "no event twice, none lost";
    EXPECT_GT(reads, 10);

    const auto one = tail.read_after(0, 1);
    EXPECT_EQ(sequences(one), range(1, 1));
    EXPECT_FALSE(one.at_end);
}

TEST(EncodedFlowTail, EventsTheLogOverwroteAreMissed) {
    proxy::FlowLog log(100);
    EncodedFlowTail tail(log);
    tail.acquire();
    publish(log, 60);
    EXPECT_EQ(tail.read_after(0, 1 << 20).events, 60u);
    publish(log,
            130);  // 190 in all: the log keeps 91..190; the tail's chunk still has 1..90, unread

    auto read = tail.read_after(10, 1 << 20);
    EXPECT_EQ(read.missed, 80u) << "11..90";
    EXPECT_EQ(read.first, 91u);
    EXPECT_EQ(sequences(read), range(91, 190));

    read = tail.read_after(60, 1 << 20);
    EXPECT_EQ(read.missed, 30u);
    EXPECT_EQ(read.first, 91u);

    expect_nothing_after(tail, 500, 190);  // a cursor past the end resumes at the newest event
}

TEST(EncodedFlowTail, ReadersShareTheEncodedBytes) {
    proxy::FlowLog log(100);
    EncodedFlowTail tail(log);
    tail.acquire();
    publish(log, 50);
    const auto first = tail.read_after(0, 1 << 20);
    const auto second = tail.read_after(0, 1 << 20);
    ASSERT_EQ(first.slices.size(), 1u);
    ASSERT_EQ(second.slices.size(), 1u);
    EXPECT_EQ(first.slices[0].begin(), second.slices[0].begin()) << "the same bytes, not a copy";
    const auto later = tail.read_after(10, 1 << 20);
    ASSERT_EQ(later.slices.size(), 1u);
    EXPECT_GT(later.slices[0].begin(), first.slices[0].begin());
    EXPECT_LT(later.slices[0].begin(), first.slices[0].end());
}

TEST(EncodedFlowTail, HoldsOnlyWhatWasPublishedWhileAStreamHeldIt) {
    proxy::FlowLog log(1000);
    EncodedFlowTail tail(log);
    publish(log, 100);
    EXPECT_FALSE(tail.read_after(100, 1 << 20).covered) << "not held yet: nothing is covered";

    tail.acquire();
    tail.acquire();  // a second stream
    publish(log, 5);
    auto read = tail.read_after(100, 1 << 20);
    EXPECT_TRUE(read.covered);
    EXPECT_EQ(sequences(read), range(101, 105));
    read = tail.read_after(90, 1 << 20);  // a replay from before: the log has it, the tail does not
    EXPECT_FALSE(read.covered);
    EXPECT_EQ(read.events, 0u);
    EXPECT_TRUE(read.slices.empty());

    tail.release();
    publish(log, 1);
    EXPECT_EQ(sequences(tail.read_after(105, 1 << 20)), range(106, 106))
        << "one stream still holds it";
    tail.release();
    publish(log, 1);
    EXPECT_FALSE(tail.read_after(105, 1 << 20).covered) << "let go: it follows the log no more";

    tail.acquire();  // again: from the log's newest event on
    EXPECT_FALSE(tail.read_after(106, 1 << 20).covered);
    expect_nothing_after(tail, 107, 107);
    publish(log, 2);
    EXPECT_EQ(sequences(tail.read_after(107, 1 << 20)), range(108, 109));
    tail.release();
}

TEST(EncodedFlowTail, AnEventPreparedBeforeTheAttachIsEncodedWhole) {
    // The log calls append() with nothing prepared for an event that passed its prepare step just
    // before the tail attached: the bytes must be the same as for a prepared one.
    proxy::FlowLog log(100);
    EncodedFlowTail tail(log);
    tail.acquire();  // attached at 0
    proxy::FlowEvent event;
    event.kind = proxy::FlowEventKind::request_head;
    event.client = "192.0.2.1:40000";
    event.host = "origin.example";
    event.method = "GET";
    event.path = "/";
    event.sequence = 1;
    tail.append(event, {});
    std::string prepared;
    FlowEventWire::prepare(event, prepared);
    event.sequence = 2;
    tail.append(event, prepared);

    const auto read = tail.read_after(0, 1 << 20);
    ASSERT_EQ(read.events, 2u);
    std::string bytes;
    for (const auto& slice : read.slices)
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    v1::WatchFlowsResponse response;
    ASSERT_TRUE(response.ParseFromString(bytes));
    ASSERT_EQ(response.events_size(), 2);
    EXPECT_EQ(response.events(0).sequence(), 1u);
    EXPECT_EQ(response.events(1).sequence(), 2u);
    v1::FlowEvent first = response.events(0);
    first.set_sequence(2);
    EXPECT_EQ(first.SerializeAsString(), response.events(1).SerializeAsString());
    EXPECT_EQ(response.events(1).request_head().method(), "GET");
    tail.release();
}

TEST(EncodedFlowTail, ConcurrentPublishersAreReadInSequenceOrder) {
    proxy::FlowLog log(1'000'000);
    EncodedFlowTail tail(log);
    tail.acquire();
    constexpr int threads = 4, per_thread = 5'000;
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads; ++t) publishers.emplace_back([&log] { publish(log, per_thread); });
    std::vector<std::uint64_t> all;
    std::uint64_t cursor = 0;
    while (cursor < std::uint64_t{threads} * per_thread) {
        const auto read = tail.read_after(cursor, 64 * 1024);
        ASSERT_TRUE(read.covered);
        ASSERT_EQ(read.missed, 0u);
        const auto got = sequences(read);
        all.insert(all.end(), got.begin(), got.end());
        cursor = read.cursor;
    }
    for (auto& p : publishers) p.join();
    EXPECT_EQ(all, range(1, std::uint64_t{threads} * per_thread));
    tail.release();
}

TEST(EncodedFlowTail, AnEmptyLogHasNothingToRead) {
    proxy::FlowLog log(100);
    EncodedFlowTail tail(log);
    tail.acquire();
    expect_nothing_after(tail, 0, 0);
    tail.release();
}

}  // namespace
}  // namespace mproxy::control
