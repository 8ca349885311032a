#include "proxy/capture/capture_store.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>

#include "proxy/capture/capture_codec.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::proxy {
namespace {

using std::chrono::system_clock;

CapturedExchange sample(std::uint64_t id, std::size_t body_bytes = 0) {
    CapturedExchange e;
    e.flow_id = id;
    e.connection_id = 7;
    e.started =
        system_clock::time_point(std::chrono::microseconds(1'700'000'000'000'000 + id * 1000));
    e.client = "127.0.0.1:5555";
    e.mode = ConnectionMode::mitm;
    e.host = "example.com";
    e.port = 443;
    e.server_address = "93.184.216.34";
    e.request.method = "POST";
    e.request.target = "/upload?id=" + std::to_string(id);
    e.request.fields.add("Host", "example.com");
    e.request.fields.add("content-TYPE", "application/xml");
    e.request.fields.add("X-Empty", "");
    e.request.fields.add("X-Bytes", std::string("\x80\xff\x01 obs-text", 12));
    ResponseHead early;
    early.status = 103;
    early.reason = "Early Hints";
    early.fields.add("Link", "</style.css>; rel=preload");
    e.interim.push_back(early);
    e.response.status = 500;
    e.response.reason = "Internal  Server Error";
    e.response.version_minor = 0;
    e.response.fields.add("Content-Type", "application/xml");
    e.response_trailers.add("X-Checksum", "abc");
    e.request_body.captured = true;
    e.request_body.bytes = std::string(body_bytes, 'q');
    e.request_body.length = body_bytes * 3;
    e.response_body.captured = true;
    e.response_body.bytes = "<Error>SlowDown</Error>";
    e.response_body.length = e.response_body.bytes.size();
    e.timings = {1200, -1, 35, 8000, 12};
    e.request_bytes = 300 + body_bytes * 3;
    e.response_bytes = 180;
    e.duration = std::chrono::microseconds(9300);
    e.answered_by_proxy = false;
    e.error = "";
    return e;
}

void expect_same(const CapturedExchange& a, const CapturedExchange& b, bool bodies = true) {
    EXPECT_EQ(a.flow_id, b.flow_id);
    EXPECT_EQ(a.connection_id, b.connection_id);
    EXPECT_EQ(a.started, b.started);
    EXPECT_EQ(a.client, b.client);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.host, b.host);
    EXPECT_EQ(a.port, b.port);
    EXPECT_EQ(a.server_address, b.server_address);
    EXPECT_EQ(a.request.method, b.request.method);
    EXPECT_EQ(a.request.target, b.request.target);
    EXPECT_TRUE(a.request.fields == b.request.fields);
    ASSERT_EQ(a.interim.size(), b.interim.size());
    for (std::size_t i = 0; i < a.interim.size(); ++i) {
        EXPECT_EQ(a.interim[i].status, b.interim[i].status);
        EXPECT_EQ(a.interim[i].reason, b.interim[i].reason);
        EXPECT_TRUE(a.interim[i].fields == b.interim[i].fields);
    }
    EXPECT_EQ(a.response.status, b.response.status);
    EXPECT_EQ(a.response.reason, b.response.reason);
    EXPECT_EQ(a.response.version_minor, b.response.version_minor);
    EXPECT_TRUE(a.response.fields == b.response.fields);
    EXPECT_TRUE(a.response_trailers == b.response_trailers);
    EXPECT_EQ(a.timings, b.timings);
    EXPECT_EQ(a.request_body.length, b.request_body.length);
    EXPECT_EQ(a.request_body.captured, b.request_body.captured);
    if (bodies) {
        EXPECT_EQ(a.request_body.bytes, b.request_body.bytes);
        EXPECT_EQ(a.response_body.bytes, b.response_body.bytes);
    }
    EXPECT_EQ(a.duration, b.duration);
    EXPECT_EQ(a.error, b.error);
}

CaptureStoreConfig config_in(const test::TemporaryDirectory& dir) {
    CaptureStoreConfig c;
    c.file = dir.path() / "captures.db";
    return c;
}

TEST(CaptureCodec, DetailRoundTripsFieldsInOrderAndCaseWithAnyBytes) {
    const auto e = sample(1);
    CapturedExchange back;
    back.flow_id = e.flow_id;
    ASSERT_TRUE(decode_capture_detail(encode_capture_detail(e), back));
    EXPECT_TRUE(back.request.fields == e.request.fields);
    EXPECT_EQ(back.request.fields.all()[1].name, "content-TYPE");
    EXPECT_EQ(back.timings, e.timings);
    EXPECT_EQ(back.interim.size(), 1u);
    EXPECT_EQ(back.response.reason, "Internal  Server Error");
}

TEST(CaptureCodec, TruncatedOrForeignBytesAreRefused) {
    const auto bytes = encode_capture_detail(sample(1));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        CapturedExchange back;
        EXPECT_FALSE(decode_capture_detail(std::string_view(bytes).substr(0, cut), back))
            << "cut at " << cut;
    }
    CapturedExchange back;
    auto newer = bytes;
    newer[0] = static_cast<char>(newer[0] + 1);
    EXPECT_FALSE(decode_capture_detail(newer, back));
    EXPECT_FALSE(decode_capture_detail(bytes + "x", back));
}

TEST(CaptureCodec, PartsOutOfTheWritersOrderAreRefused) {
    const RequestHead request{.method = "GET", .target = "/", .version_minor = 1, .fields = {}};
    const ResponseHead response{.version_minor = 1, .status = 200, .reason = "OK", .fields = {}};
    const auto record = [&](auto parts) {
        std::string out;
        CaptureDetailWriter w(out);
        w.begin(1, "127.0.0.1:1", ConnectionMode::plain, "example.com", 80);
        parts(w);
        w.end({});
        return out;
    };
    CapturedExchange back;
    EXPECT_TRUE(decode_capture_detail(record([&](auto& w) {
                                          w.request(request, {});
                                          w.response(true, response, {});
                                          w.response(false, response, {});
                                      }),
                                      back));
    for (const auto& bad : {record([&](auto& w) {  // two final heads
                                w.request(request, {});
                                w.response(false, response, {});
                                w.response(false, response, {});
                            }),
                            record([&](auto& w) {  // a 1xx after the final head
                                w.request(request, {});
                                w.response(false, response, {});
                                w.response(true, response, {});
                            }),
                            record([&](auto& w) {  // the request after a response head
                                w.response(true, response, {});
                                w.request(request, {});
                            })}) {
        CapturedExchange refused;
        EXPECT_FALSE(decode_capture_detail(bad, refused));
    }
}

TEST(CaptureStore, WhatIsSubmittedIsReadBackWholeAndSurvivesAReopen) {
    test::TemporaryDirectory dir;
    const auto e = sample(42, 1000);
    {
        CaptureStore store(config_in(dir));
        ASSERT_TRUE(store.submit(capture_record(e)));
        store.flush();
        const auto got = store.get(42);
        ASSERT_TRUE(got);
        expect_same(*got, e);
        EXPECT_TRUE(got->request_body.truncated());
        EXPECT_EQ(store.stats().stored, 1u);
        EXPECT_EQ(store.stats().truncated_bodies, 1u);
        EXPECT_FALSE(store.get(43));
    }
    CaptureStore reopened(config_in(dir));
    const auto got = reopened.get(42);
    ASSERT_TRUE(got) << "lost across a reopen";
    expect_same(*got, e);
    EXPECT_EQ(reopened.newest_id(), 42u);
    EXPECT_GT(reopened.stats().bytes, 1000u) << "the budget's count is kept across a reopen";
}

TEST(CaptureStore, ListingIsNewestFirstByPagesTimeRangesAndFilters) {
    test::TemporaryDirectory dir;
    CaptureStore store(config_in(dir));
    for (std::uint64_t id = 1; id <= 30; ++id) store.submit(capture_record(sample(id)));
    store.flush();
    CaptureQuery query;
    query.limit = 10;
    auto page = store.list(query);
    ASSERT_EQ(page.size(), 10u);
    EXPECT_EQ(page.front().flow_id, 30u);
    EXPECT_EQ(page.back().flow_id, 21u);
    EXPECT_TRUE(page.front().request_body.bytes.empty()) << "a listing reads no body bytes";
    query.before_id = page.back().flow_id;
    page = store.list(query);
    ASSERT_EQ(page.size(), 10u);
    EXPECT_EQ(page.front().flow_id, 20u);

    CaptureQuery range;
    range.since = sample(5).started;
    range.until = sample(8).started;  // exclusive
    page = store.list(range);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page.front().flow_id, 7u);
    EXPECT_EQ(page.back().flow_id, 5u);

    page =
        store.list(CaptureQuery{}, [](const CapturedExchange& e) { return e.flow_id % 10 == 0; });
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page[1].flow_id, 20u);
}

TEST(CaptureStore, TimeRangesAndAgesHoldWhenIdsHaveGaps) {
    // Flow ids are handed out before the capture decision: the store's ids have holes.
    test::TemporaryDirectory dir;
    auto c = config_in(dir);
    CaptureStore store(c);
    for (std::uint64_t id : {1, 3, 4, 9, 10, 30, 31, 100}) store.submit(capture_record(sample(id)));
    store.flush();
    CaptureQuery range;
    range.since = sample(4).started;
    range.until = sample(31).started;
    const auto page = store.list(range);
    ASSERT_EQ(page.size(), 4u);
    EXPECT_EQ(page.front().flow_id, 30u);
    EXPECT_EQ(page.back().flow_id, 4u);
    range.since = sample(101).started;  // after every exchange
    EXPECT_TRUE(store.list(range).empty());
    CaptureQuery all_before;
    all_before.until = sample(2).started;
    ASSERT_EQ(store.list(all_before).size(), 1u);
}

TEST(CaptureStore, TheOldestGoFirstWhenTheBudgetIsExceeded) {
    test::TemporaryDirectory dir;
    auto c = config_in(dir);
    c.max_bytes = 200 * 1024;
    CaptureStore store(c);
    for (std::uint64_t id = 1; id <= 100; ++id) {
        store.submit(capture_record(sample(id, 10 * 1024)));
        if (id % 10 == 0) store.flush();
    }
    store.flush();
    const auto stats = store.stats();
    EXPECT_LE(stats.bytes, c.max_bytes);
    EXPECT_GT(stats.evicted, 50u);
    EXPECT_EQ(stats.stored, 100u);
    EXPECT_TRUE(store.get(100)) << "the newest stays";
    EXPECT_FALSE(store.get(1)) << "the oldest goes";
    CaptureQuery all;
    all.limit = 1000;
    const auto kept = store.list(all);
    EXPECT_EQ(kept.size(), 100u - stats.evicted);
    for (std::size_t i = 1; i < kept.size(); ++i)
        EXPECT_EQ(kept[i].flow_id + 1, kept[i - 1].flow_id) << "a gap";
}

TEST(CaptureStore, ExchangesOlderThanTheMaximumAgeAreEvicted) {
    test::TemporaryDirectory dir;
    auto c = config_in(dir);
    c.max_age = std::chrono::hours(1);
    CaptureStore store(c);
    auto old = sample(1);
    old.started = system_clock::now() - std::chrono::hours(2);
    auto fresh = sample(2);
    fresh.started = system_clock::now();
    store.submit(capture_record(old));
    store.submit(capture_record(fresh));
    store.flush();
    EXPECT_FALSE(store.get(1));
    EXPECT_TRUE(store.get(2));
    EXPECT_EQ(store.stats().evicted, 1u);
}

TEST(CaptureStore, AFullQueueDropsAndCountsInsteadOfWaiting) {
    test::TemporaryDirectory dir;
    auto c = config_in(dir);
    c.max_queued_bytes = 64 * 1024;
    CaptureStore store(c);
    std::size_t refused = 0;
    for (std::uint64_t id = 1; id <= 200; ++id)
        if (!store.submit(capture_record(sample(id, 16 * 1024)))) ++refused;
    store.flush();
    const auto stats = store.stats();
    EXPECT_GT(refused, 0u) << "200 x 16 KiB never exceeded a 64 KiB queue";
    EXPECT_EQ(stats.dropped_queue_full, refused);
    EXPECT_EQ(stats.stored + refused, 200u);
}

TEST(CaptureStore, ACorruptFileIsMovedAsideAndANewStoreStarted) {
    test::TemporaryDirectory dir;
    const auto c = config_in(dir);
    std::ofstream(c.file) << std::string(8192, 'x');
    CaptureStore store(c);
    ASSERT_FALSE(store.moved_aside().empty());
    EXPECT_TRUE(std::filesystem::exists(store.moved_aside()));
    EXPECT_EQ(std::filesystem::file_size(store.moved_aside()), 8192u)
        << "the corrupt file is kept, untouched";
    store.submit(capture_record(sample(1)));
    store.flush();
    EXPECT_TRUE(store.get(1));
}

TEST(CaptureStore, AStoreOfAnEarlierFormatIsEmptiedAndUsed) {
    test::TemporaryDirectory dir;
    const auto c = config_in(dir);
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(c.file.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE exchanges(id INTEGER PRIMARY KEY, started_us INTEGER, "
                               "host TEXT, detail BLOB); INSERT INTO exchanges VALUES(1, 2, 'old', "
                               "x'01');",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    CaptureStore store(c);
    EXPECT_TRUE(store.moved_aside().empty()) << "not corrupt: another format";
    EXPECT_EQ(store.newest_id(), 0u) << "the earlier records are not read as this format's";
    store.submit(capture_record(sample(5)));
    store.flush();
    EXPECT_TRUE(store.get(5));
}

TEST(CaptureStore, ADirectoryThatCannotHoldTheStoreIsAnErrorNamingThePath) {
    test::TemporaryDirectory dir;
    std::ofstream(dir.path() / "plain-file") << "x";
    CaptureStoreConfig c;
    c.file = dir.path() / "plain-file" / "captures.db";
    try {
        CaptureStore store(c);
        FAIL() << "opened a store where none can be";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(c.file.string()), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace mproxy::proxy
