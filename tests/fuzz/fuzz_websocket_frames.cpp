// WebSocket frames as a peer sends them after a 101: WebSocketFrameTap must take any bytes, in any
// pieces, and keep within its bounds.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/capture/websocket_messages.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace mproxy::proxy;

namespace {

// What the tap made of the bytes, without the times (which differ between runs).
WebSocketMessages parse(std::string_view bytes, std::uint64_t cap,
                        mproxy::fuzz::InputRandom* pieces, bool& broken) {
    WebSocketMessages messages;
    WebSocketFrameTap tap(true, cap, messages);
    std::size_t completed = 0;
    tap.on_message = [&](const CapturedWebSocketMessage& m) {
        FUZZ_CHECK(m.payload.size() <= m.length);
        ++completed;
    };
    while (!bytes.empty()) {
        const std::size_t n = pieces ? 1 + pieces->next() % bytes.size() : bytes.size();
        tap.feed(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
    broken = tap.broken();
    FUZZ_CHECK(completed <= messages.messages.size());
    for (auto& m : messages.messages) m.time = {};
    return messages;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    mproxy::fuzz::InputRandom random(bytes);
    const std::uint64_t cap = random.next() % 300;
    bool broken_whole = false, broken_pieces = false;
    const auto whole = parse(bytes, cap, nullptr, broken_whole);
    const auto pieces = parse(bytes, cap, &random, broken_pieces);
    // Where the bytes are cut between feeds changes nothing.
    FUZZ_CHECK(whole == pieces);
    FUZZ_CHECK(broken_whole == broken_pieces);
    // The bounds hold.
    FUZZ_CHECK(whole.messages.size() <= WebSocketMessages::max_messages);
    FUZZ_CHECK(whole.payload_bytes <= WebSocketMessages::max_payload_bytes);
    std::uint64_t kept = 0;
    for (const auto& m : whole.messages) {
        FUZZ_CHECK(m.payload.size() <= cap);
        FUZZ_CHECK(m.opcode <= 15 && m.opcode != 0);
        if (m.opcode >= 8) FUZZ_CHECK(m.length <= 125);
        kept += m.payload.size();
    }
    FUZZ_CHECK(kept == whole.payload_bytes);
    return 0;
}
