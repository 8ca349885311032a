#pragma once
// Copies the first bytes of a body aside as it is relayed, up to a cap, without holding any of it
// back: the relay hands over each piece of payload (chunk framing removed) after writing it on.
// Once the cap is reached the tap wants nothing more, and the relay may splice the rest.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/capture/captured_exchange.hpp"

namespace mproxy::proxy {

class BodyTap {
  public:
    BodyTap(CapturedBody& body, std::uint64_t cap) : body_(body) { set_cap(cap); }

    // A cap decided once the head is known (the response's Content-Type, say).
    void set_cap(std::uint64_t cap) {
        cap_ = cap;
        body_.captured = cap > 0;
    }
    bool full() const { return body_.bytes.size() >= cap_; }
    void take(std::string_view payload) {
        if (full()) return;
        const auto room = static_cast<std::size_t>(cap_ - body_.bytes.size());
        body_.bytes.append(payload.substr(0, room));
    }
    // For the next message: nothing kept, no cap (the body's bytes are its owner's to clear).
    void reset() {
        set_cap(0);
        trailer_lines_.clear();
    }
    // The raw field lines of a chunked body's trailer section, filled by the relay's decoder.
    std::string& trailer_lines() { return trailer_lines_; }

  private:
    CapturedBody& body_;
    std::uint64_t cap_ = 0;
    std::string trailer_lines_;
};

}  // namespace mproxy::proxy
