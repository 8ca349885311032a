#include "proxy/capture/capture_codec.hpp"

#include <cstdint>

namespace mproxy::proxy {

namespace {

// 3: written in the order the exchange reveals it: who and where, then tagged parts (the request,
// each interim head, the final head), then what is known at the end. Records of format 2 put the
// end's values first, which made the data plane keep copies of the heads until then.
constexpr std::uint8_t format_version = 3;
enum Part : std::uint8_t { parts_end = 0, request_part = 1, interim_part = 2, final_part = 3 };

void put_byte(std::string& out, std::uint8_t b) {
    out.push_back(static_cast<char>(b));
}
inline void put_varint(std::string& out, std::uint64_t v) {
    if (v < 0x80) return put_byte(out, static_cast<std::uint8_t>(v));  // most lengths and numbers
    do {
        put_byte(out, static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    } while (v >= 0x80);
    put_byte(out, static_cast<std::uint8_t>(v));
}
void put_signed_varint(std::string& out, std::int64_t v) {  // zigzag: -1 costs one byte
    put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
inline void put_text(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out.append(s);
}
void put_fields(std::string& out, const HeaderFields* f, FieldCapture capture) {
    if (!f || !capture.keep) return put_varint(out, 0);
    put_varint(out, f->all().size());
    for (const auto& field : f->all()) {
        put_text(out, field.name);
        if (capture.redact && capture.redact->holds(field.name))
            put_text(out, redacted_value(field.value));
        else
            put_text(out, field.value);
    }
}

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

void CaptureDetailWriter::begin(std::uint64_t connection_id, std::string_view client,
                                ConnectionMode mode, std::string_view host, std::uint16_t port) {
    put_byte(out_, format_version);
    put_varint(out_, connection_id);
    put_text(out_, client);
    put_varint(out_, static_cast<std::uint64_t>(mode));
    put_text(out_, host);
    put_varint(out_, port);
}

void CaptureDetailWriter::request(const RequestHead& head, FieldCapture fields) {
    put_byte(out_, request_part);
    put_text(out_, head.method);
    put_text(out_, head.target);
    put_varint(out_, head.version_minor);
    put_fields(out_, &head.fields, fields);
}

void CaptureDetailWriter::response(bool interim, const ResponseHead& head, FieldCapture fields) {
    put_byte(out_, interim ? interim_part : final_part);
    put_varint(out_, head.version_minor);
    put_varint(out_, head.status);
    put_text(out_, head.reason);
    put_fields(out_, &head.fields, fields);
}

void CaptureDetailWriter::end(const End& e) {
    put_byte(out_, parts_end);
    const bool request_kept = e.request_body && e.request_body->captured;
    const bool response_kept = e.response_body && e.response_body->captured;
    put_byte(out_,
             static_cast<std::uint8_t>((e.fields_captured ? 1 : 0) | (e.answered_by_proxy ? 2 : 0) |
                                       (request_kept ? 4 : 0) | (response_kept ? 8 : 0)));
    put_varint(out_, e.request_bytes);
    put_varint(out_, e.response_bytes);
    put_signed_varint(out_, e.duration_us);
    put_text(out_, e.error);
    put_fields(out_, e.request_trailers, e.trailer_fields);
    put_fields(out_, e.response_trailers, e.trailer_fields);
    put_varint(out_, e.request_body ? e.request_body->length : 0);
    put_varint(out_, e.response_body ? e.response_body->length : 0);
    for (const auto t : {e.timings.connect_us, e.timings.tls_us, e.timings.send_us,
                         e.timings.wait_us, e.timings.receive_us})
        put_signed_varint(out_, t);
    put_text(out_, e.server_address);
}

bool operator==(const HeaderFields& a, const HeaderFields& b) {
    const auto& x = a.all();
    const auto& y = b.all();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (x[i].name != y[i].name || x[i].value != y[i].value) return false;
    return true;
}

std::string encode_capture_detail(const CapturedExchange& e) {
    std::string out;
    CaptureDetailWriter w(out);
    const FieldCapture fields{e.fields_captured, nullptr};
    w.begin(e.connection_id, e.client, e.mode, e.host, e.port);
    w.request(e.request, fields);
    for (const auto& interim : e.interim) w.response(true, interim, fields);
    if (e.response.status != 0) w.response(false, e.response, fields);
    w.end({.fields_captured = e.fields_captured,
           .answered_by_proxy = e.answered_by_proxy,
           .request_body = &e.request_body,
           .response_body = &e.response_body,
           .request_trailers = &e.request_trailers,
           .response_trailers = &e.response_trailers,
           .trailer_fields = fields,
           .request_bytes = e.request_bytes,
           .response_bytes = e.response_bytes,
           .duration_us = e.duration.count(),
           .error = e.error,
           .timings = e.timings,
           .server_address = e.server_address});
    return out;
}

bool decode_capture_detail(std::string_view bytes, CapturedExchange& e) {
    Reader r(bytes);
    if (r.byte() != format_version) return false;
    e.connection_id = r.varint();
    e.client = r.text();
    e.mode = static_cast<ConnectionMode>(r.varint());
    e.host = r.text();
    e.port = static_cast<std::uint16_t>(r.varint());
    // The parts in the order the writer makes them: at most one request, first; 1xx heads; at most
    // one final head, last. Anything else is not a record of ours.
    bool any_part = false, final_seen = false;
    for (auto part = r.byte(); part != parts_end && r.ok(); part = r.byte()) {
        if (final_seen || (part == request_part && any_part)) return false;
        any_part = true;
        if (part == request_part) {
            e.request.method = r.text();
            e.request.target = r.text();
            e.request.version_minor = static_cast<unsigned>(r.varint());
            r.fields(e.request.fields);
        } else if (part == interim_part) {
            r.response(e.interim.emplace_back());
        } else if (part == final_part) {
            final_seen = true;
            r.response(e.response);
        } else {
            return false;
        }
    }
    const auto flags = r.byte();
    e.fields_captured = flags & 1;
    e.answered_by_proxy = flags & 2;
    e.request_body.captured = flags & 4;
    e.response_body.captured = flags & 8;
    e.request_bytes = r.varint();
    e.response_bytes = r.varint();
    e.duration = std::chrono::microseconds(r.signed_varint());
    e.error = r.text();
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

std::string encode_websocket_messages(const WebSocketMessages& ws,
                                      std::chrono::system_clock::time_point started) {
    if (ws.messages.empty() && ws.dropped == 0) return {};
    std::string out;
    put_byte(out, messages_format_version);
    put_varint(out, ws.dropped);
    put_varint(out, ws.messages.size());
    for (const auto& m : ws.messages) {
        put_byte(out, static_cast<std::uint8_t>((m.from_client ? 1 : 0) | (m.compressed ? 2 : 0)));
        put_varint(out, m.opcode);
        put_varint(out, m.length);
        put_signed_varint(out, micros_between(started, m.time));  // small: since the exchange began
        put_text(out, m.payload);
        put_varint(out, m.close_code);
        put_text(out, m.close_reason);
    }
    return out;
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

CaptureRecord capture_record(const CapturedExchange& e) {
    CaptureRecord record;
    record.flow_id = e.flow_id;
    record.started_us =
        std::chrono::duration_cast<std::chrono::microseconds>(e.started.time_since_epoch()).count();
    record.detail = encode_capture_detail(e);
    if (e.request_body.captured) record.request_body = e.request_body.bytes;
    if (e.response_body.captured) record.response_body = e.response_body.bytes;
    record.websocket = encode_websocket_messages(e.websocket, e.started);
    record.truncated_bodies =
        (e.request_body.truncated() ? 1 : 0) + (e.response_body.truncated() ? 1 : 0);
    return record;
}

}  // namespace mproxy::proxy
