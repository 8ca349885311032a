// WebSocketFrameTap against frames written byte for byte as RFC 6455 section 5 lays them out:
// masked and unmasked, 7-, 16- and 64-bit lengths, fragmented messages with control frames between
// their fragments, close codes, payload caps, and bytes that are no frames.

#include "proxy/capture/websocket_messages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mproxy::proxy {
namespace {

// One frame: FIN and opcode, the length in its shortest form, the mask key when `mask`.
std::string frame(unsigned opcode, std::string_view payload, bool fin = true, bool mask = false,
                  bool rsv1 = false) {
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode));
    const auto n = payload.size();
    const char mask_bit = mask ? static_cast<char>(0x80) : 0;
    if (n < 126) {
        out.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
    } else if (n < 65536) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((n >> shift) & 0xff));
    }
    const char key[4] = {'\x12', '\x34', '\x56', '\x78'};
    if (mask) out.append(key, 4);
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return out;
}

std::string close_payload(unsigned code, std::string_view reason) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xff));
    p.append(reason);
    return p;
}

TEST(WebSocketFrameTap, MaskedMessagesOfEachLengthFormAreUnmasked) {
    const std::string medium(300, 'm'), large(70000, 'L');
    const auto stream =
        frame(1, "hi", true, true) + frame(2, medium, true, true) + frame(2, large, true, true);
    WebSocketMessages messages;
    WebSocketFrameTap tap(true, 1 << 20, messages);
    tap.feed(stream);
    ASSERT_EQ(messages.messages.size(), 3u);
    EXPECT_EQ(messages.messages[0].opcode, 1u);
    EXPECT_EQ(messages.messages[0].payload, "hi");
    EXPECT_TRUE(messages.messages[0].from_client);
    EXPECT_EQ(messages.messages[1].payload, medium);
    EXPECT_EQ(messages.messages[2].length, large.size());
    EXPECT_EQ(messages.messages[2].payload, large);
    EXPECT_FALSE(tap.broken());
}

TEST(WebSocketFrameTap, ByteAtATimeGivesWhatOneFeedGives) {
    const auto stream = frame(1, "first", false, true) + frame(9, "ping?", true, true) +
                        frame(0, " and second", true, true) +
                        frame(8, close_payload(1001, "going away"), true, true);
    WebSocketMessages whole, bytewise;
    WebSocketFrameTap a(true, 1 << 20, whole), b(true, 1 << 20, bytewise);
    a.feed(stream);
    for (char c : stream) b.feed(std::string_view(&c, 1));
    EXPECT_EQ(whole.messages.size(), 3u);
    for (auto& m : bytewise.messages) m.time = {};
    for (auto& m : whole.messages) m.time = {};
    EXPECT_EQ(whole, bytewise);
}

TEST(WebSocketFrameTap, FragmentsJoinAroundControlFramesAndCloseCodesAreRead) {
    const auto stream = frame(1, "first", false) + frame(9, "ping?") + frame(0, " and ", false) +
                        frame(0, "second") + frame(8, close_payload(1001, "going away"));
    WebSocketMessages messages;
    WebSocketFrameTap tap(false, 1 << 20, messages);
    tap.feed(stream);
    ASSERT_EQ(messages.messages.size(), 3u);
    EXPECT_EQ(messages.messages[0].opcode, 1u);
    EXPECT_EQ(messages.messages[0].payload, "first and second");
    EXPECT_EQ(messages.messages[0].length, 16u);
    EXPECT_EQ(messages.messages[1].opcode, 9u);
    EXPECT_EQ(messages.messages[1].payload, "ping?");
    EXPECT_EQ(messages.messages[2].opcode, 8u);
    EXPECT_EQ(messages.messages[2].close_code, 1001u);
    EXPECT_EQ(messages.messages[2].close_reason, "going away");
    EXPECT_FALSE(messages.messages[2].from_client);
}

TEST(WebSocketFrameTap, PayloadsAreKeptUpToTheCapWithTheirRealLength) {
    const std::string big(10000, 'x');
    WebSocketMessages messages;
    WebSocketFrameTap tap(true, 100, messages);
    tap.feed(frame(2, big, false, true) + frame(0, big, true, true));
    ASSERT_EQ(messages.messages.size(), 1u);
    EXPECT_EQ(messages.messages[0].length, 20000u);
    EXPECT_EQ(messages.messages[0].payload, std::string(100, 'x'));
    EXPECT_TRUE(messages.messages[0].truncated());

    WebSocketMessages lengths_only;
    WebSocketFrameTap no_payloads(false, 0, lengths_only);
    no_payloads.feed(frame(1, "hello") + frame(1, "again", true, false, true));
    ASSERT_EQ(lengths_only.messages.size(), 2u);
    EXPECT_EQ(lengths_only.messages[0].length, 5u);
    EXPECT_TRUE(lengths_only.messages[0].payload.empty());
    EXPECT_TRUE(lengths_only.messages[1].compressed) << "RSV1: permessage-deflate";
}

TEST(WebSocketFrameTap, ALongSessionKeepsItsFirstMessagesAndCountsTheRest) {
    WebSocketMessages messages;
    WebSocketFrameTap tap(false, 1 << 20, messages);
    const auto one = frame(1, "tick");
    std::string many;
    for (std::size_t i = 0; i < WebSocketMessages::max_messages + 25; ++i) many += one;
    tap.feed(many);
    EXPECT_EQ(messages.messages.size(), WebSocketMessages::max_messages);
    EXPECT_EQ(messages.dropped, 25u);

    WebSocketMessages budget;
    WebSocketFrameTap big(false, 1 << 30, budget);
    const std::string half(WebSocketMessages::max_payload_bytes / 2 + 1, 'b');
    big.feed(frame(2, half) + frame(2, half) + frame(2, half));
    ASSERT_EQ(budget.messages.size(), 3u);
    EXPECT_EQ(budget.payload_bytes, WebSocketMessages::max_payload_bytes)
        << "1 MiB of payloads in all";
    EXPECT_TRUE(budget.messages[2].payload.empty());
    EXPECT_EQ(budget.messages[2].length, half.size());
}

TEST(WebSocketFrameTap, BytesThatAreNoFramesStopTheParsing) {
    for (const std::string& bad :
         {frame(3, "reserved opcode"), frame(0, "nothing to continue"),
          frame(9, std::string(200, 'p')), frame(1, "a", false) + frame(2, "b")}) {
        WebSocketMessages messages;
        WebSocketFrameTap tap(true, 1 << 20, messages);
        tap.feed(bad + frame(1, "after"));
        EXPECT_TRUE(tap.broken());
        for (const auto& m : messages.messages) EXPECT_NE(m.payload, "after");
    }
}

}  // namespace
}  // namespace mproxy::proxy
