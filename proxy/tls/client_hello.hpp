#pragma once
// Peeks at the first bytes a client sends inside a CONNECT tunnel: is it TLS, and if so, which
// name (SNI) and application protocols (ALPN) does its ClientHello ask for? The mitm action needs
// the name before the handshake starts, because the leaf certificate for it is minted
// asynchronously and OpenSSL's servername callback must not block. Pure function over the bytes
// received so far (RFC 8446 sections 4.1.2 and 5.1, RFC 6066 section 3, RFC 7301 section 3.1);
// fed arbitrary bytes by tests/fuzz.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {

// The largest ClientHello handshake message (its 4-byte header included) we wait for.
inline constexpr std::size_t max_client_hello_size = 16 * 1024;
// A hello may be fragmented over several records, but real clients use one or two.
inline constexpr std::size_t max_client_hello_records = 32;
// The most bytes a caller ever has to buffer before inspect_client_hello() decides.
inline constexpr std::size_t max_client_hello_wire_bytes =
    max_client_hello_size + 5 * max_client_hello_records;

struct ClientHelloInfo {
    bool complete = false;             // the whole ClientHello was seen and parsed
    std::string server_name;           // SNI host_name, lower-cased; "" when the client sent none
    std::vector<std::string> alpn;     // offered protocols in the client's order, e.g. "h2"
    std::uint16_t legacy_version = 0;  // ClientHello.legacy_version (0x0303 for TLS 1.2 and 1.3)
    std::size_t hello_bytes = 0;       // wire bytes of the records that carried the hello
};

enum class HelloStatus {
    need_more,  // a prefix of a plausible ClientHello: read more and call again
    not_tls,    // not a TLS handshake record: treat the bytes as something else (cleartext HTTP)
    ok,         // `out` is filled in; bytes after the hello's records are not looked at
    malformed,  // TLS, but not a ClientHello we accept (wrong message, bad lengths, over the caps)
};

// `bytes` are all the bytes received so far, from the first one. The answer only ever moves from
// need_more to one of the others as bytes are appended, and then stays the same (with the same
// `out` for ok). `out` is reset on every call and meaningful only for ok.
HelloStatus inspect_client_hello(std::string_view bytes, ClientHelloInfo& out);

const char* to_string(HelloStatus status);

}  // namespace mproxy::proxy
