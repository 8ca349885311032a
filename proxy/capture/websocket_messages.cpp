#include "proxy/capture/websocket_messages.hpp"

#include <algorithm>

namespace mproxy::proxy {

namespace {
constexpr unsigned continuation = 0, close_opcode = 8;
bool is_control(unsigned opcode) {
    return opcode >= 8;
}
}  // namespace

void WebSocketFrameTap::feed(std::string_view bytes) {
    while (!bytes.empty() && !broken_) {
        if (in_payload_) {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, bytes.size()));
            payload(bytes.substr(0, n));
            bytes.remove_prefix(n);
            payload_left_ -= n;
            if (payload_left_ == 0) frame_complete();
            continue;
        }
        const auto n = std::min(header_need_ - header_have_, bytes.size());
        std::copy_n(bytes.data(), n, header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
        header_have_ += n;
        bytes.remove_prefix(n);
        if (header_have_ < header_need_) continue;
        if (header_need_ == 2) {
            // The second byte says how much more header there is: a longer length, a mask key.
            const unsigned len7 = header_[1] & 0x7f;
            header_need_ = 2 +
                           (len7 == 126   ? 2
                            : len7 == 127 ? 8
                                          : 0) +
                           ((header_[1] & 0x80) ? 4 : 0);
            if (header_have_ < header_need_) continue;
        }
        header_complete();
    }
}

CapturedWebSocketMessage* WebSocketFrameTap::begin_message(unsigned opcode) {
    if (messages_.messages.size() >= WebSocketMessages::max_messages) {
        ++messages_.dropped;
        return nullptr;
    }
    auto& m = messages_.messages.emplace_back();
    m.from_client = from_client_;
    m.opcode = opcode;
    m.time = std::chrono::system_clock::now();
    m.compressed = header_[0] & 0x40;
    return &m;
}

void WebSocketFrameTap::header_complete() {
    fin_ = header_[0] & 0x80;
    opcode_ = header_[0] & 0x0f;
    masked_ = header_[1] & 0x80;
    const unsigned len7 = header_[1] & 0x7f;
    std::size_t at = 2;
    std::uint64_t length = len7;
    if (len7 == 126) {
        length = (std::uint64_t{header_[2]} << 8) | header_[3];
        at = 4;
    } else if (len7 == 127) {
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | header_[2 + static_cast<std::size_t>(i)];
        at = 10;
    }
    if (masked_) std::copy_n(header_.begin() + static_cast<std::ptrdiff_t>(at), 4, mask_.begin());
    mask_offset_ = 0;
    header_have_ = 0;
    header_need_ = 2;

    // What RFC 6455 forbids ends the parsing: opcodes 3-7 and 11-15, a fragmented or long control
    // frame, a continuation with nothing to continue, a new message inside an unfinished one.
    const bool reserved = (opcode_ >= 3 && opcode_ <= 7) || opcode_ >= 11;
    if (reserved || (is_control(opcode_) && (!fin_ || length > 125)) ||
        (opcode_ == continuation && !data_open_) ||
        (!is_control(opcode_) && opcode_ != continuation && data_open_)) {
        broken_ = true;
        return;
    }
    if (is_control(opcode_)) {
        control_payload_.clear();
        const auto* m = begin_message(opcode_);
        control_message_ = m ? messages_.messages.size() - 1 : SIZE_MAX;
    } else if (opcode_ != continuation) {
        const auto* m = begin_message(opcode_);
        data_message_ = m ? messages_.messages.size() - 1 : SIZE_MAX;
        data_open_ = true;
    }
    payload_left_ = length;
    in_payload_ = length > 0;
    if (is_control(opcode_)) {
        if (control_message_ != SIZE_MAX) messages_.messages[control_message_].length = length;
    } else if (data_message_ != SIZE_MAX) {
        messages_.messages[data_message_].length += length;
    }
    if (length == 0) frame_complete();
}

void WebSocketFrameTap::payload(std::string_view bytes) {
    if (is_control(opcode_)) {
        const auto start = control_payload_.size();
        control_payload_.append(bytes);
        if (masked_)
            for (std::size_t i = start; i < control_payload_.size(); ++i)
                control_payload_[i] =
                    static_cast<char>(control_payload_[i] ^ mask_[(mask_offset_++) & 3]);
        return;
    }
    if (data_message_ == SIZE_MAX) return;
    auto& m = messages_.messages[data_message_];
    const auto room = std::min<std::uint64_t>(
        cap_ > m.payload.size() ? cap_ - m.payload.size() : 0,
        WebSocketMessages::max_payload_bytes -
            std::min(messages_.payload_bytes, WebSocketMessages::max_payload_bytes));
    const auto keep = static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size()));
    const auto start = m.payload.size();
    m.payload.append(bytes.substr(0, keep));
    messages_.payload_bytes += keep;
    if (masked_)
        for (std::size_t i = start; i < m.payload.size(); ++i)
            m.payload[i] =
                static_cast<char>(m.payload[i] ^ mask_[(mask_offset_ + (i - start)) & 3]);
    mask_offset_ += bytes.size();  // every byte of the frame moves the key, kept or not
}

void WebSocketFrameTap::frame_complete() {
    in_payload_ = false;
    if (is_control(opcode_)) {
        if (control_message_ == SIZE_MAX) return;
        auto& m = messages_.messages[control_message_];
        if (opcode_ == close_opcode && control_payload_.size() >= 2) {
            m.close_code =
                (static_cast<unsigned>(static_cast<std::uint8_t>(control_payload_[0])) << 8) |
                static_cast<std::uint8_t>(control_payload_[1]);
            m.close_reason = control_payload_.substr(2);
        }
        const auto keep = std::min<std::uint64_t>(
            {control_payload_.size(), cap_,
             WebSocketMessages::max_payload_bytes -
                 std::min(messages_.payload_bytes, WebSocketMessages::max_payload_bytes)});
        m.payload = control_payload_.substr(0, static_cast<std::size_t>(keep));
        messages_.payload_bytes += keep;
        control_message_ = SIZE_MAX;
        if (on_message) on_message(m);
        return;
    }
    if (fin_) {
        if (data_message_ != SIZE_MAX && on_message) on_message(messages_.messages[data_message_]);
        data_open_ = false;
        data_message_ = SIZE_MAX;
    }
}

}  // namespace mproxy::proxy
