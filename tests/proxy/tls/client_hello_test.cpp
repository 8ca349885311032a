#include "proxy/tls/client_hello.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

namespace mproxy::proxy {
namespace {

using namespace std::string_literals;  // embedded NULs kept

// ---- real ClientHellos, written by OpenSSL into a memory BIO ----

struct HelloOptions {
    std::string server_name;        // "" sends no SNI
    std::vector<std::string> alpn;  // empty sends no ALPN
    int max_version = TLS1_3_VERSION;
    unsigned max_fragment = 0;  // record payload limit, 0 for OpenSSL's default
};

std::string real_client_hello(const HelloOptions& options) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          &SSL_CTX_free);
    if (!ctx || !SSL_CTX_set_max_proto_version(ctx.get(), options.max_version)) return {};
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
    if (!ssl) return {};
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, out);  // owned by ssl from here on
    SSL_set_connect_state(ssl.get());
    if (!options.server_name.empty() &&
        !SSL_set_tlsext_host_name(ssl.get(), options.server_name.c_str()))
        return {};
    if (!options.alpn.empty()) {
        std::string wire;
        for (const auto& protocol : options.alpn) {
            wire.push_back(static_cast<char>(protocol.size()));
            wire += protocol;
        }
        // 0 means success for this one.
        if (SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0)
            return {};
    }
    if (options.max_fragment != 0 && !SSL_set_max_send_fragment(ssl.get(), options.max_fragment))
        return {};
    const int result = SSL_do_handshake(ssl.get());
    if (result > 0 || SSL_get_error(ssl.get(), result) != SSL_ERROR_WANT_READ) return {};
    char* data = nullptr;
    const long size = BIO_get_mem_data(out, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

// How many records the bytes hold, walking their headers.
std::size_t count_records(std::string_view bytes) {
    std::size_t count = 0;
    for (std::size_t at = 0; at + 5 <= bytes.size(); ++count)
        at += 5 + (static_cast<unsigned char>(bytes[at + 3]) << 8 |
                   static_cast<unsigned char>(bytes[at + 4]));
    return count;
}

// ---- hand-built hellos, for what OpenSSL will not send ----

std::string u16(std::size_t n) {
    return {static_cast<char>(n >> 8 & 0xff), static_cast<char>(n & 0xff)};
}

std::string u24(std::size_t n) {
    return {static_cast<char>(n >> 16 & 0xff), static_cast<char>(n >> 8 & 0xff),
            static_cast<char>(n & 0xff)};
}

std::string extension(std::uint16_t type, const std::string& data) {
    return u16(type) + u16(data.size()) + data;
}

std::string sni_extension(const std::string& name) {
    const std::string entry = std::string(1, '\0') + u16(name.size()) + name;
    return extension(0, u16(entry.size()) + entry);
}

std::string alpn_extension(const std::vector<std::string>& protocols) {
    std::string list;
    for (const auto& p : protocols) list += std::string(1, static_cast<char>(p.size())) + p;
    return extension(16, u16(list.size()) + list);
}

// A ClientHello body: TLS 1.2 legacy version, empty session id, one suite, null compression.
std::string hello_body(const std::string& extensions, bool with_extensions = true) {
    std::string body = "\x03\x03" + std::string(32, 'r') + std::string(1, '\0') + u16(2) +
                       "\x13\x01" + std::string("\x01\x00", 2);
    if (with_extensions) body += u16(extensions.size()) + extensions;
    return body;
}

std::string handshake(const std::string& body, char type = 1) {
    return std::string(1, type) + u24(body.size()) + body;
}

// `message` cut into handshake records of at most `fragment` payload bytes.
std::string records(const std::string& message, std::size_t fragment = 16384) {
    std::string out;
    for (std::size_t at = 0; at < message.size(); at += fragment) {
        const auto piece = message.substr(at, fragment);
        out += "\x16\x03\x01" + u16(piece.size()) + piece;
    }
    return out;
}

// The handshake message carried by the records of `wire`.
std::string unframe(std::string_view wire) {
    std::string message;
    for (std::size_t at = 0; at + 5 <= wire.size();) {
        const std::size_t length = static_cast<unsigned char>(wire[at + 3]) << 8 |
                                   static_cast<unsigned char>(wire[at + 4]);
        message += wire.substr(at + 5, length);
        at += 5 + length;
    }
    return message;
}

HelloStatus inspect(std::string_view bytes) {
    ClientHelloInfo info;
    return inspect_client_hello(bytes, info);
}

// Every proper prefix needs more; the whole says ok with `expected`'s fields.
void expect_ok_only_when_complete(const std::string& wire, const ClientHelloInfo& expected) {
    for (std::size_t n = 0; n < wire.size(); ++n) {
        ClientHelloInfo info;
        ASSERT_EQ(inspect_client_hello(std::string_view(wire).substr(0, n), info),
                  HelloStatus::need_more)
            << "prefix of " << n << " of " << wire.size() << " bytes";
        EXPECT_FALSE(info.complete);
    }
    ClientHelloInfo info;
    ASSERT_EQ(inspect_client_hello(wire, info), HelloStatus::ok);
    EXPECT_TRUE(info.complete);
    EXPECT_EQ(info.server_name, expected.server_name);
    EXPECT_EQ(info.alpn, expected.alpn);
    EXPECT_EQ(info.legacy_version, expected.legacy_version);
    EXPECT_EQ(info.hello_bytes, wire.size());
}

ClientHelloInfo expect(std::string name, std::vector<std::string> alpn) {
    ClientHelloInfo info;
    info.complete = true;
    info.server_name = std::move(name);
    info.alpn = std::move(alpn);
    info.legacy_version = 0x0303;
    return info;
}

// ---- real hellos ----

TEST(InspectClientHello, Tls13WithSniAndAlpn) {
    const auto wire = real_client_hello({"example.com", {"h2", "http/1.1"}});
    ASSERT_FALSE(wire.empty());
    expect_ok_only_when_complete(wire, expect("example.com", {"h2", "http/1.1"}));
}

TEST(InspectClientHello, Tls12MaxWithSniAndAlpn) {
    const auto wire = real_client_hello({"origin.test", {"http/1.1"}, TLS1_2_VERSION});
    ASSERT_FALSE(wire.empty());
    expect_ok_only_when_complete(wire, expect("origin.test", {"http/1.1"}));
}

TEST(InspectClientHello, NoSniIsFine) {
    for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        const auto wire = real_client_hello({"", {}, version});
        ASSERT_FALSE(wire.empty());
        expect_ok_only_when_complete(wire, expect("", {}));
    }
}

TEST(InspectClientHello, NameIsLowerCased) {
    const auto wire = real_client_hello({"WWW.Example.ORG", {}});
    ClientHelloInfo info;
    ASSERT_EQ(inspect_client_hello(wire, info), HelloStatus::ok);
    EXPECT_EQ(info.server_name, "www.example.org");
}

TEST(InspectClientHello, BytesAfterTheHelloAreNotLookedAt) {
    const auto wire = real_client_hello({"example.com", {"h2"}});
    for (const std::string& after : {std::string("\x14\x03\x03\x00\x01\x01", 6),
                                     std::string("GET / HTTP/1.1\r\n"), std::string(100, '\xff')}) {
        ClientHelloInfo info;
        ASSERT_EQ(inspect_client_hello(wire + after, info), HelloStatus::ok);
        EXPECT_EQ(info.server_name, "example.com");
        EXPECT_EQ(info.hello_bytes, wire.size());
    }
}

TEST(InspectClientHello, HelloSpanningRecordsFromOpenSsl) {
    // Enough protocols to pass OpenSSL's smallest record size, so it fragments the hello.
    std::vector<std::string> alpn;
    for (int i = 0; i < 60; ++i) alpn.push_back("proto-" + std::to_string(i));
    const auto wire = real_client_hello({"split.example", alpn, TLS1_3_VERSION, 512});
    ASSERT_FALSE(wire.empty());
    ASSERT_GT(count_records(wire), 1u);
    expect_ok_only_when_complete(wire, expect("split.example", alpn));
}

TEST(InspectClientHello, HelloRefragmentedIntoSmallRecords) {
    const auto wire = real_client_hello({"example.com", {"h2", "http/1.1"}});
    const auto message = unframe(wire);
    // At most 32 records; the last case splits the 4-byte handshake header itself.
    for (const std::size_t fragment :
         {message.size() / 30 + 1, std::size_t{100}, std::size_t{301}}) {
        const auto split = records(message, fragment);
        ASSERT_GT(count_records(split), 1u);
        expect_ok_only_when_complete(split, expect("example.com", {"h2", "http/1.1"}));
    }
    const auto header_split = records(message.substr(0, 2)) + records(message.substr(2));
    expect_ok_only_when_complete(header_split, expect("example.com", {"h2", "http/1.1"}));
}

TEST(InspectClientHello, TooManyRecordsIsMalformed) {
    const auto message = unframe(real_client_hello({"example.com", {}}));
    ASSERT_GT(message.size(), max_client_hello_records);
    EXPECT_EQ(inspect(records(message, 1)), HelloStatus::malformed);
}

// ---- not TLS ----

TEST(InspectClientHello, CleartextHttpIsNotTlsFromTheFirstByte) {
    const std::string request = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    for (std::size_t n = 1; n <= request.size(); ++n)
        EXPECT_EQ(inspect(std::string_view(request).substr(0, n)), HelloStatus::not_tls) << n;
    EXPECT_EQ(inspect("PRI * HTTP/2.0"), HelloStatus::not_tls);
    EXPECT_EQ(inspect(std::string_view("\0", 1)), HelloStatus::not_tls);
}

TEST(InspectClientHello, ImplausibleRecordVersionIsNotTls) {
    EXPECT_EQ(inspect(""), HelloStatus::need_more);
    EXPECT_EQ(inspect("\x16"), HelloStatus::need_more);
    EXPECT_EQ(inspect("\x16\x03"), HelloStatus::need_more);
    EXPECT_EQ(inspect("\x16\x03\x01"), HelloStatus::need_more);
    EXPECT_EQ(inspect("\x16\x02"), HelloStatus::not_tls);
    EXPECT_EQ(inspect("\x16\x03\x05"), HelloStatus::not_tls);
    EXPECT_EQ(inspect("\x16\x04\x01\x00\x10"s), HelloStatus::not_tls);
    // SSL 2 compatible hellos start with a length byte, not a record type.
    EXPECT_EQ(inspect("\x80\x2e\x01\x03\x01"), HelloStatus::not_tls);
}

// ---- malformed: TLS, but not a hello we take ----

TEST(InspectClientHello, HandBuiltHelloParses) {
    const auto wire =
        records(handshake(hello_body(sni_extension("a.example") + alpn_extension({"h2"}))));
    expect_ok_only_when_complete(wire, expect("a.example", {"h2"}));
    // Hellos of old clients may have no extensions block at all.
    expect_ok_only_when_complete(records(handshake(hello_body("", false))), expect("", {}));
}

TEST(InspectClientHello, BadRecordLengths) {
    EXPECT_EQ(inspect("\x16\x03\x01\x00\x00"s), HelloStatus::malformed);
    EXPECT_EQ(inspect(std::string("\x16\x03\x01\x40\x01", 5)), HelloStatus::malformed);
    EXPECT_EQ(inspect(std::string("\x16\x03\x01\xff\xff", 5)), HelloStatus::malformed);
}

TEST(InspectClientHello, OtherHandshakeMessagesAreMalformed) {
    const auto server_hello = records(handshake(hello_body(""), 2));
    EXPECT_EQ(inspect(server_hello.substr(0, 6)), HelloStatus::malformed);
    EXPECT_EQ(inspect(server_hello), HelloStatus::malformed);
}

TEST(InspectClientHello, HelloOverTheCapIsMalformedAtOnce) {
    const std::string header = "\x16\x03\x01\x00\x04\x01"s + u24(max_client_hello_size);
    EXPECT_EQ(inspect(header), HelloStatus::malformed);
    const std::string just_fits = "\x16\x03\x01\x00\x04\x01"s + u24(max_client_hello_size - 4);
    EXPECT_EQ(inspect(just_fits), HelloStatus::need_more);
}

TEST(InspectClientHello, SomethingOtherThanHandshakeInsideTheHelloIsMalformed) {
    const auto message = handshake(hello_body(sni_extension("a.example")));
    const auto first = records(message.substr(0, 20));
    EXPECT_EQ(inspect(first + "\x15\x03\x03\x00\x02\x02\x28"s), HelloStatus::malformed);
    EXPECT_EQ(inspect(first + "\x16\x02"), HelloStatus::malformed);
    EXPECT_EQ(inspect(first + "\x16\x03\x01\x00\x00"s), HelloStatus::malformed);
}

TEST(InspectClientHello, BytesAfterTheHelloInItsLastRecordAreMalformed) {
    const auto message = handshake(hello_body(sni_extension("a.example")));
    EXPECT_EQ(inspect(records(message + "x")), HelloStatus::malformed);
    // Decided from the record header, before the record's payload arrives.
    EXPECT_EQ(inspect(records(message + "x").substr(0, 12)), HelloStatus::malformed);
}

TEST(InspectClientHello, CorruptInnerLengthsAreMalformed) {
    const auto body_with = [](const std::string& extensions) {
        return inspect(records(handshake(hello_body(extensions))));
    };
    // Extension lengths running past their block, or short of it.
    EXPECT_EQ(body_with(u16(0) + u16(50) + "abc"), HelloStatus::malformed);
    EXPECT_EQ(body_with(sni_extension("a.example") + "x"), HelloStatus::malformed);
    // A server name list whose length disagrees with the extension's.
    EXPECT_EQ(body_with(extension(0, u16(20) + std::string(1, '\0') + u16(3) + "a.b")),
              HelloStatus::malformed);
    EXPECT_EQ(body_with(extension(0, u16(6) + std::string(1, '\0') + u16(9) + "a.b")),
              HelloStatus::malformed);
    EXPECT_EQ(body_with(extension(0, u16(0))), HelloStatus::malformed);
    // ALPN: empty list, empty name, name running past the list.
    EXPECT_EQ(body_with(extension(16, u16(0))), HelloStatus::malformed);
    EXPECT_EQ(body_with(alpn_extension({"h2", ""})), HelloStatus::malformed);
    EXPECT_EQ(body_with(extension(16, u16(3) + "\x05h2x")), HelloStatus::malformed);

    auto body = hello_body("");
    body[34] = 33;  // session id longer than 32
    EXPECT_EQ(inspect(records(handshake(body))), HelloStatus::malformed);
    body = hello_body("");
    body[36] = 3;  // odd cipher suites length
    EXPECT_EQ(inspect(records(handshake(body))), HelloStatus::malformed);
    body = hello_body("");
    body[0] = 2;  // legacy_version 2.x
    EXPECT_EQ(inspect(records(handshake(body))), HelloStatus::malformed);
    // A body shorter than its fixed fields.
    EXPECT_EQ(inspect(records(handshake(hello_body("").substr(0, 20)))), HelloStatus::malformed);
}

TEST(InspectClientHello, DuplicatesAndBadNamesAreMalformed) {
    const auto with = [](const std::string& extensions) {
        return inspect(records(handshake(hello_body(extensions))));
    };
    EXPECT_EQ(with(sni_extension("a.example") + sni_extension("b.example")),
              HelloStatus::malformed);
    EXPECT_EQ(with(alpn_extension({"h2"}) + alpn_extension({"h2"})), HelloStatus::malformed);
    const std::string two_names =
        std::string(1, '\0') + u16(1) + "a" + std::string(1, '\0') + u16(1) + "b";
    EXPECT_EQ(with(extension(0, u16(two_names.size()) + two_names)), HelloStatus::malformed);
    EXPECT_EQ(with(sni_extension("bad name")), HelloStatus::malformed);
    EXPECT_EQ(with(sni_extension(std::string("nul\0.example", 12))), HelloStatus::malformed);
    EXPECT_EQ(with(sni_extension("")), HelloStatus::malformed);
    EXPECT_EQ(with(sni_extension(std::string(256, 'a'))), HelloStatus::malformed);
    EXPECT_EQ(with(sni_extension(std::string(255, 'a'))), HelloStatus::ok);
}

// Corrupting any byte of a real hello, at every prefix length: an answer, never a crash, and one
// that holds once given (the fuzz target checks this more widely).
TEST(InspectClientHello, EveryCorruptByteOfARealHello) {
    const auto wire = real_client_hello({"example.com", {"h2", "http/1.1"}});
    for (std::size_t i = 0; i < wire.size(); ++i) {
        for (const char value : {'\x00', '\xff', static_cast<char>(wire[i] + 1)}) {
            auto corrupt = wire;
            corrupt[i] = value;
            HelloStatus settled = HelloStatus::need_more;
            for (std::size_t n = 0; n <= corrupt.size(); ++n) {
                ClientHelloInfo info;
                const auto status =
                    inspect_client_hello(std::string_view(corrupt).substr(0, n), info);
                if (settled != HelloStatus::need_more) {
                    ASSERT_EQ(status, settled) << "byte " << i << ", prefix " << n;
                } else {
                    settled = status;
                }
                if (status != HelloStatus::ok) {
                    EXPECT_FALSE(info.complete);
                }
            }
        }
    }
}

}  // namespace
}  // namespace mproxy::proxy
