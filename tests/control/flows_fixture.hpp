#pragma once
// The FlowsService tests' fixture: a proxy and its control server (ControlFixture), and WatchFlows
// streams read item by item (a Gap, an event, caught_up) with a deadline.

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <optional>

#include "tests/control/control_fixture.hpp"
#include "tests/support/curl_transfer.hpp"

namespace mproxy::test {

using Reader = grpc::ClientReader<v1::WatchFlowsResponse>;

// One thing a stream said, in the order the messages say it: each WatchFlowsResponse (a batch) is
// a Gap when present, then its events, then caught_up when set.
class Item {
  public:
    static Item of_gap(const v1::Gap& gap) {
        Item item;
        item.gap_ = gap;
        return item;
    }
    static Item of_event(const v1::FlowEvent& event) {
        Item item;
        item.event_ = event;
        return item;
    }
    static Item of_caught_up() {
        Item item;
        item.caught_up_ = true;
        return item;
    }

    bool has_gap() const { return gap_.has_value(); }
    bool has_event() const { return event_.has_value(); }
    bool caught_up() const { return caught_up_; }
    const v1::Gap& gap() const { return gap_.value(); }
    const v1::FlowEvent& event() const { return event_.value(); }
    std::string ShortDebugString() const {
        if (gap_) return "gap { " + gap_->ShortDebugString() + " }";
        if (event_) return "event { " + event_->ShortDebugString() + " }";
        return "caught_up";
    }

  private:
    std::optional<v1::Gap> gap_;
    std::optional<v1::FlowEvent> event_;
    bool caught_up_ = false;
};

struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<Reader> reader;
    std::string log_id;        // from the messages read so far
    std::deque<Item> pending;  // the rest of the last message read
    std::size_t messages = 0, events = 0;

    // The next item, reading a message when the last one is used up; false when the stream ended.
    bool next(Item& item) {
        v1::WatchFlowsResponse response;
        while (pending.empty()) {
            if (!reader->Read(&response)) return false;
            ++messages;
            EXPECT_FALSE(response.log_id().empty()) << "every message names the log";
            if (!log_id.empty()) {
                EXPECT_EQ(response.log_id(), log_id) << "the same on every message";
            }
            log_id = response.log_id();
            EXPECT_TRUE(response.has_gap() || response.events_size() > 0 || response.caught_up())
                << "an empty message: " << response.ShortDebugString();
            if (response.has_gap()) pending.push_back(Item::of_gap(response.gap()));
            for (const auto& event : response.events()) pending.push_back(Item::of_event(event));
            events += response.events_size();
            if (response.caught_up()) pending.push_back(Item::of_caught_up());
        }
        item = std::move(pending.front());
        pending.pop_front();
        return true;
    }
};

inline std::string kind_of(const v1::FlowEvent& event) {
    const auto* field = event.GetDescriptor()->FindOneofByName("kind");
    const auto* set = event.GetReflection()->GetOneofFieldDescriptor(event, field);
    return set ? set->name() : "none";
}

inline std::string kinds_of(const std::vector<v1::FlowEvent>& events) {
    std::string out;
    for (const auto& event : events)
        out += std::to_string(event.sequence()) + ":" + kind_of(event) + " ";
    return out;
}

class FlowsServiceTest : public ControlFixture {
  protected:
    Watch watch(const v1::WatchFlowsRequest& request, std::string_view token = test_token,
                std::chrono::seconds limit = std::chrono::seconds(20),
                v1::FlowsService::Stub* stub = nullptr) {
        Watch w;
        w.context = call(token);
        w.context->set_deadline(std::chrono::system_clock::now() + limit);
        w.reader = (stub ? stub : flows.get())->WatchFlows(w.context.get(), request);
        return w;
    }

    // A watch from the current end of the log, returned once the server said caught_up: whatever
    // traffic the test makes next is certain to be seen.
    Watch watch_from_now(const v1::FlowFilter& filter = {},
                         std::chrono::seconds limit = std::chrono::seconds(20),
                         v1::FlowsService::Stub* stub = nullptr) {
        v1::WatchFlowsRequest request;
        *request.mutable_filter() = filter;
        request.set_since_sequence(proxy().flows().last_sequence());
        auto w = watch(request, test_token, limit, stub);
        Item item;
        while (w.next(item)) {
            if (item.caught_up()) return w;
            ADD_FAILURE() << "before caught_up: " << item.ShortDebugString();
        }
        ADD_FAILURE() << "the watch ended before it caught up: "
                      << w.reader->Finish().error_message();
        return w;
    }

    // Reads until an event for which `last` holds (included); a Gap fails the test. Stops early
    // when the stream ends (its deadline), which the caller's assertions then show.
    static std::vector<v1::FlowEvent> read_events(
        Watch& w, const std::function<bool(const v1::FlowEvent&)>& last) {
        std::vector<v1::FlowEvent> events;
        Item item;
        while (w.next(item)) {
            if (item.has_gap()) ADD_FAILURE() << "unexpected gap: " << item.ShortDebugString();
            if (!item.has_event()) continue;
            events.push_back(item.event());
            if (last(events.back())) return events;
        }
        ADD_FAILURE() << "the stream ended after " << kinds_of(events);
        return events;
    }

    // Reads until caught_up, every event and gap in order.
    static std::vector<Item> read_until_caught_up(Watch& w) {
        std::vector<Item> items;
        Item item;
        while (w.next(item)) {
            if (item.caught_up()) return items;
            items.push_back(std::move(item));
        }
        ADD_FAILURE() << "the stream ended before caught_up: "
                      << w.reader->Finish().error_message();
        return items;
    }

    // GET through the proxy on a fresh connection, closed before returning.
    void get(const std::string& path) {
        CurlTransfer transfer;
        transfer.url(origin.url(path));
        transfer.via_proxy(proxy_port());
        ASSERT_EQ(transfer.perform(), CURLE_OK) << transfer.error_text();
        ASSERT_EQ(transfer.response_code(), 200);
    }

    void upload(std::uint64_t size, bool expect_continue) {
        CurlTransfer post;
        post.url(origin.url("/upload"));
        post.via_proxy(proxy_port());
        post.upload(size, UploadFraming::content_length);
        post.expect_continue(expect_continue);
        ASSERT_EQ(post.perform(), CURLE_OK) << post.error_text();
        ASSERT_EQ(post.response_code(), 200);
        if (expect_continue) {
            ASSERT_EQ(post.statuses(), (std::vector<int>{100, 200}));
        }
    }

    std::optional<Watch> left_open_;  // a stream still open when TearDown stops the server
};

}  // namespace mproxy::test
