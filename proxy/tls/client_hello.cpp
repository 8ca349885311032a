#include "proxy/tls/client_hello.hpp"

#include <algorithm>

namespace mproxy::proxy {

namespace {

constexpr std::uint8_t handshake_content_type = 0x16;
constexpr std::uint8_t client_hello_message_type = 1;
constexpr std::size_t record_header_size = 5;
constexpr std::size_t handshake_header_size = 4;
constexpr std::size_t max_record_payload = 16 * 1024;  // TLSPlaintext.length <= 2^14
constexpr std::uint16_t server_name_extension = 0;
constexpr std::uint16_t alpn_extension = 16;
constexpr std::uint8_t host_name_type = 0;
constexpr std::size_t max_host_name_size = 255;

// Reads big-endian integers and length-prefixed vectors from one complete message; every read
// checks that the bytes are there and leaves the reader unchanged when they are not.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    bool empty() const { return bytes_.empty(); }

    bool read_u8(std::uint8_t& value) {
        if (bytes_.empty()) return false;
        value = static_cast<std::uint8_t>(bytes_[0]);
        bytes_.remove_prefix(1);
        return true;
    }

    bool read_u16(std::uint16_t& value) {
        if (bytes_.size() < 2) return false;
        value = static_cast<std::uint16_t>(byte(0) << 8 | byte(1));
        bytes_.remove_prefix(2);
        return true;
    }

    bool skip(std::size_t n) {
        if (bytes_.size() < n) return false;
        bytes_.remove_prefix(n);
        return true;
    }

    // A vector whose length is given by the `width` (1 or 2) bytes before it.
    bool read_vector(std::size_t width, std::string_view& body) {
        if (bytes_.size() < width) return false;
        const std::size_t length = width == 1 ? byte(0) : (byte(0) << 8 | byte(1));
        if (bytes_.size() - width < length) return false;
        body = bytes_.substr(width, length);
        bytes_.remove_prefix(width + length);
        return true;
    }

  private:
    std::size_t byte(std::size_t i) const { return static_cast<unsigned char>(bytes_[i]); }
    std::string_view bytes_;
};

std::size_t byte_at(std::string_view bytes, std::size_t i) {
    return static_cast<unsigned char>(bytes[i]);
}

bool is_host_name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

// RFC 6066 section 3: a ServerNameList with at most one host_name. The name goes into a
// certificate and the logs, so only DNS characters are accepted.
bool parse_server_name(std::string_view data, ClientHelloInfo& out) {
    Reader extension(data);
    std::string_view list;
    if (!extension.read_vector(2, list) || !extension.empty() || list.empty()) return false;
    Reader names(list);
    bool seen_host_name = false;
    while (!names.empty()) {
        std::uint8_t type = 0;
        std::string_view name;
        if (!names.read_u8(type) || !names.read_vector(2, name) || name.empty()) return false;
        if (type != host_name_type) continue;
        if (seen_host_name || name.size() > max_host_name_size) return false;
        if (!std::all_of(name.begin(), name.end(),
                         [](char c) { return is_host_name_char(static_cast<unsigned char>(c)); }))
            return false;
        seen_host_name = true;
        out.server_name.assign(name);
        std::transform(
            out.server_name.begin(), out.server_name.end(), out.server_name.begin(),
            [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    }
    return true;
}

// RFC 7301 section 3.1: a non-empty ProtocolNameList of non-empty names.
bool parse_alpn(std::string_view data, ClientHelloInfo& out) {
    Reader extension(data);
    std::string_view list;
    if (!extension.read_vector(2, list) || !extension.empty() || list.empty()) return false;
    Reader protocols(list);
    while (!protocols.empty()) {
        std::string_view protocol;
        if (!protocols.read_vector(1, protocol) || protocol.empty()) return false;
        out.alpn.emplace_back(protocol);
    }
    return true;
}

// The body of a complete ClientHello message (RFC 8446 section 4.1.2; RFC 5246 section 7.4.1.2
// for hellos without extensions).
bool parse_client_hello_body(std::string_view body, ClientHelloInfo& out) {
    Reader hello(body);
    std::string_view session_id, cipher_suites, compression_methods, extensions;
    if (!hello.read_u16(out.legacy_version) || (out.legacy_version >> 8) != 3) return false;
    if (!hello.skip(32)) return false;  // random
    if (!hello.read_vector(1, session_id) || session_id.size() > 32) return false;
    if (!hello.read_vector(2, cipher_suites) || cipher_suites.size() < 2 ||
        cipher_suites.size() % 2 != 0)
        return false;
    if (!hello.read_vector(1, compression_methods) || compression_methods.empty()) return false;
    if (hello.empty()) return true;  // no extensions at all
    if (!hello.read_vector(2, extensions) || !hello.empty()) return false;

    Reader reader(extensions);
    std::vector<std::uint16_t> seen;
    while (!reader.empty()) {
        std::uint16_t type = 0;
        std::string_view data;
        if (!reader.read_u16(type) || !reader.read_vector(2, data)) return false;
        // "There MUST NOT be more than one extension of the same type" (RFC 8446 section 4.2).
        if (std::find(seen.begin(), seen.end(), type) != seen.end()) return false;
        seen.push_back(type);
        if (type == server_name_extension && !parse_server_name(data, out)) return false;
        if (type == alpn_extension && !parse_alpn(data, out)) return false;
    }
    return true;
}

// Whether the record header starting at `at` is a plausible handshake record, judged on the bytes
// present: content type 22, version 3.0 to 3.4.
bool plausible_record_start(std::string_view bytes, std::size_t at) {
    if (byte_at(bytes, at) != handshake_content_type) return false;
    if (at + 1 < bytes.size() && byte_at(bytes, at + 1) != 3) return false;
    if (at + 2 < bytes.size() && byte_at(bytes, at + 2) > 4) return false;
    return true;
}

}  // namespace

HelloStatus inspect_client_hello(std::string_view bytes, ClientHelloInfo& out) {
    out = ClientHelloInfo{};
    // The handshake message, reassembled from the payloads of consecutive handshake records.
    std::string message;
    std::size_t expected = 0;  // whole message size, once its header has been seen
    std::size_t at = 0;
    for (std::size_t records = 0;; ++records) {
        if (at >= bytes.size()) return HelloStatus::need_more;
        if (!plausible_record_start(bytes, at))
            return at == 0 ? HelloStatus::not_tls : HelloStatus::malformed;
        if (records == max_client_hello_records) return HelloStatus::malformed;
        if (bytes.size() - at < record_header_size) return HelloStatus::need_more;
        const std::size_t length = byte_at(bytes, at + 3) << 8 | byte_at(bytes, at + 4);
        // Zero-length handshake fragments are forbidden (RFC 8446 section 5.1).
        if (length == 0 || length > max_record_payload) return HelloStatus::malformed;
        // Nothing may follow the hello in its last record: the client waits for the server.
        if (expected != 0 && message.size() + length > expected) return HelloStatus::malformed;

        const std::size_t payload_at = at + record_header_size;
        const std::size_t available = std::min(length, bytes.size() - payload_at);
        const std::size_t header_wanted =
            message.size() < handshake_header_size ? handshake_header_size - message.size() : 0;
        message.append(bytes.substr(payload_at, std::min(available, header_wanted)));
        if (!message.empty() && byte_at(message, 0) != client_hello_message_type)
            return HelloStatus::malformed;
        if (expected == 0 && message.size() == handshake_header_size) {
            const std::size_t body_size =
                byte_at(message, 1) << 16 | byte_at(message, 2) << 8 | byte_at(message, 3);
            expected = handshake_header_size + body_size;
            if (expected > max_client_hello_size) return HelloStatus::malformed;
            // The rest of this record must fit in the message too.
            if (message.size() + (length - std::min(length, header_wanted)) > expected)
                return HelloStatus::malformed;
        }
        if (available > header_wanted)
            message.append(bytes.substr(payload_at + header_wanted, available - header_wanted));
        if (available < length) return HelloStatus::need_more;
        at = payload_at + length;
        if (expected != 0 && message.size() == expected) break;
    }

    out.hello_bytes = at;
    if (!parse_client_hello_body(std::string_view(message).substr(handshake_header_size), out)) {
        out = ClientHelloInfo{};
        return HelloStatus::malformed;
    }
    out.complete = true;
    return HelloStatus::ok;
}

const char* to_string(HelloStatus status) {
    switch (status) {
        case HelloStatus::need_more:
            return "need_more";
        case HelloStatus::not_tls:
            return "not_tls";
        case HelloStatus::ok:
            return "ok";
        case HelloStatus::malformed:
            return "malformed";
    }
    return "unknown";
}

}  // namespace mproxy::proxy
