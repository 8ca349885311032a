#include "proxy/capture/capture_codec.hpp"

#include <cstdint>

namespace mproxy::proxy {

namespace {

// 2: the listing's values (connection, client, mode, origin, request line, status, sizes,
// duration, error) moved in from columns of their own, which cost the writer a bind and a record
// field each.
constexpr std::uint8_t format_version = 2;

class Writer {
  public:
    void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            byte(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        byte(static_cast<std::uint8_t>(v));
    }
    void signed_varint(std::int64_t v) {  // zigzag: -1 costs one byte
        varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }
    void text(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    void fields(const HeaderFields& f) {
        varint(f.all().size());
        for (const auto& field : f.all()) {
            text(field.name);
            text(field.value);
        }
    }
    void response(const ResponseHead& r) {
        varint(r.version_minor);
        varint(r.status);
        text(r.reason);
        fields(r.fields);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return in_.empty(); }

    std::uint8_t byte() {
        if (in_.empty()) return fail();
        const auto b = static_cast<std::uint8_t>(in_.front());
        in_.remove_prefix(1);
        return b;
    }
    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64 && ok_; shift += 7) {
            const auto b = byte();
            v |= std::uint64_t{b & 0x7fu} << shift;
            if (!(b & 0x80)) return v;
        }
        return fail();
    }
    std::int64_t signed_varint() {
        const auto z = varint();
        return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
    }
    std::string text() {
        const auto n = varint();
        if (!ok_ || n > in_.size()) return fail(), std::string{};
        std::string s(in_.substr(0, n));
        in_.remove_prefix(n);
        return s;
    }
    void fields(HeaderFields& f) {
        const auto n = varint();
        for (std::uint64_t i = 0; i < n && ok_; ++i) {
            auto name = text();
            auto value = text();
            if (ok_) f.add(std::move(name), std::move(value));
        }
    }
    void response(ResponseHead& r) {
        r.version_minor = static_cast<unsigned>(varint());
        r.status = static_cast<unsigned>(varint());
        r.reason = text();
        fields(r.fields);
    }

  private:
    std::uint8_t fail() {
        ok_ = false;
        in_ = {};
        return 0;
    }
    std::string_view in_;
    bool ok_ = true;
};

}  // namespace

bool operator==(const HeaderFields& a, const HeaderFields& b) {
    const auto& x = a.all();
    const auto& y = b.all();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (x[i].name != y[i].name || x[i].value != y[i].value) return false;
    return true;
}

std::string encode_capture_detail(const CapturedExchange& e) {
    Writer w;
    w.byte(format_version);
    w.byte(static_cast<std::uint8_t>((e.fields_captured ? 1 : 0) | (e.answered_by_proxy ? 2 : 0) |
                                     (e.request_body.captured ? 4 : 0) |
                                     (e.response_body.captured ? 8 : 0)));
    w.varint(e.connection_id);
    w.text(e.client);
    w.varint(static_cast<std::uint64_t>(e.mode));
    w.text(e.host);
    w.varint(e.port);
    w.text(e.request.method);
    w.text(e.request.target);
    w.varint(e.request_bytes);
    w.varint(e.response_bytes);
    w.signed_varint(e.duration.count());
    w.text(e.error);
    w.varint(e.request.version_minor);
    w.fields(e.request.fields);
    w.varint(e.interim.size());
    for (const auto& interim : e.interim) w.response(interim);
    w.response(e.response);
    w.fields(e.request_trailers);
    w.fields(e.response_trailers);
    w.varint(e.request_body.length);
    w.varint(e.response_body.length);
    for (const auto t : {e.timings.connect_us, e.timings.tls_us, e.timings.send_us,
                         e.timings.wait_us, e.timings.receive_us})
        w.signed_varint(t);
    w.text(e.server_address);
    return w.take();
}

bool decode_capture_detail(std::string_view bytes, CapturedExchange& e) {
    Reader r(bytes);
    if (r.byte() != format_version) return false;
    const auto flags = r.byte();
    e.fields_captured = flags & 1;
    e.answered_by_proxy = flags & 2;
    e.request_body.captured = flags & 4;
    e.response_body.captured = flags & 8;
    e.connection_id = r.varint();
    e.client = r.text();
    e.mode = static_cast<ConnectionMode>(r.varint());
    e.host = r.text();
    e.port = static_cast<std::uint16_t>(r.varint());
    e.request.method = r.text();
    e.request.target = r.text();
    e.request_bytes = r.varint();
    e.response_bytes = r.varint();
    e.duration = std::chrono::microseconds(r.signed_varint());
    e.error = r.text();
    e.request.version_minor = static_cast<unsigned>(r.varint());
    r.fields(e.request.fields);
    const auto interim = r.varint();
    for (std::uint64_t i = 0; i < interim && r.ok(); ++i) r.response(e.interim.emplace_back());
    r.response(e.response);
    r.fields(e.request_trailers);
    r.fields(e.response_trailers);
    e.request_body.length = r.varint();
    e.response_body.length = r.varint();
    for (auto* t : {&e.timings.connect_us, &e.timings.tls_us, &e.timings.send_us,
                    &e.timings.wait_us, &e.timings.receive_us})
        *t = r.signed_varint();
    e.server_address = r.text();
    return r.ok() && r.at_end();
}

namespace {
constexpr std::uint8_t messages_format_version = 1;
std::int64_t micros_between(std::chrono::system_clock::time_point from,
                            std::chrono::system_clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}
}  // namespace

std::string encode_websocket_messages(const CapturedExchange& e) {
    const auto& ws = e.websocket;
    if (ws.messages.empty() && ws.dropped == 0) return {};
    Writer w;
    w.byte(messages_format_version);
    w.varint(ws.dropped);
    w.varint(ws.messages.size());
    for (const auto& m : ws.messages) {
        w.byte(static_cast<std::uint8_t>((m.from_client ? 1 : 0) | (m.compressed ? 2 : 0)));
        w.varint(m.opcode);
        w.varint(m.length);
        w.signed_varint(micros_between(e.started, m.time));  // small: since the exchange began
        w.text(m.payload);
        w.varint(m.close_code);
        w.text(m.close_reason);
    }
    return w.take();
}

bool decode_websocket_messages(std::string_view bytes, CapturedExchange& e) {
    auto& ws = e.websocket;
    ws = {};
    if (bytes.empty()) return true;
    Reader r(bytes);
    if (r.byte() != messages_format_version) return false;
    ws.dropped = r.varint();
    const auto count = r.varint();
    for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
        auto& m = ws.messages.emplace_back();
        const auto flags = r.byte();
        m.from_client = flags & 1;
        m.compressed = flags & 2;
        m.opcode = static_cast<unsigned>(r.varint());
        m.length = r.varint();
        m.time = e.started + std::chrono::microseconds(r.signed_varint());
        m.payload = r.text();
        m.close_code = static_cast<unsigned>(r.varint());
        m.close_reason = r.text();
        ws.payload_bytes += m.payload.size();
    }
    return r.ok() && r.at_end();
}

}  // namespace mproxy::proxy
