#pragma once
// WebSocket messages seen after a 101, as the capture keeps them: the frames of each direction are
// parsed as they are relayed (RFC 6455 section 5), unmasked, and joined into messages without
// keeping more of any message than its cap. The relay never waits for this: it hands over bytes
// it has already written.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {

struct CapturedWebSocketMessage {
    bool from_client = false;
    unsigned opcode = 0;                         // 1 text, 2 binary, 8 close, 9 ping, 10 pong
    std::uint64_t length = 0;                    // the whole payload's length, over all its frames
    std::chrono::system_clock::time_point time;  // when its first frame began
    std::string payload;                         // its first bytes, up to the cap (unmasked)
    bool compressed = false;  // RSV1 set: permessage-deflate; the payload is as sent
    unsigned close_code = 0;  // close frames: the status code (0: none given) and the reason
    std::string close_reason;
    bool truncated() const { return length > payload.size(); }
    bool operator==(const CapturedWebSocketMessage&) const = default;
};

// The messages of one exchange, both directions, within bounds: a long session keeps its first
// max_messages messages and payload bytes up to max_payload_bytes in all; the rest are counted.
struct WebSocketMessages {
    static constexpr std::size_t max_messages = 10'000;
    static constexpr std::uint64_t max_payload_bytes = 1 << 20;

    std::vector<CapturedWebSocketMessage> messages;
    std::uint64_t dropped = 0;  // messages beyond max_messages
    std::uint64_t payload_bytes = 0;
    bool operator==(const WebSocketMessages&) const = default;
};

// One direction's frame parser. Bytes that are not frames (a peer speaking something else after
// the 101) stop the parsing of that direction; the relay is not affected.
class WebSocketFrameTap {
  public:
    WebSocketFrameTap(bool from_client, std::uint64_t payload_cap, WebSocketMessages& messages)
        : from_client_(from_client), cap_(payload_cap), messages_(messages) {}

    void feed(std::string_view bytes);
    bool broken() const { return broken_; }
    // Called as each kept message is complete (the flow events' websocket_message).
    std::function<void(const CapturedWebSocketMessage&)> on_message;

  private:
    void header_complete();
    void payload(std::string_view bytes);
    void frame_complete();
    CapturedWebSocketMessage* begin_message(unsigned opcode);

    bool from_client_;
    std::uint64_t cap_;
    WebSocketMessages& messages_;
    bool broken_ = false;

    // The frame being read.
    std::array<std::uint8_t, 14> header_{};
    std::size_t header_have_ = 0, header_need_ = 2;
    bool in_payload_ = false;
    std::uint64_t payload_left_ = 0;
    std::array<std::uint8_t, 4> mask_{};
    bool masked_ = false;
    std::uint64_t mask_offset_ = 0;
    unsigned opcode_ = 0;
    bool fin_ = false;

    // The data message being assembled (its index in messages_, or none), and a control frame's
    // payload (at most 125 bytes, kept whole for the close code).
    std::size_t data_message_ = SIZE_MAX;
    bool data_open_ = false;
    std::size_t control_message_ = SIZE_MAX;
    std::string control_payload_;
};

}  // namespace mproxy::proxy
