// The first bytes a client sends inside a mitm CONNECT: the ClientHello peeker.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/tls/client_hello.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace mproxy::proxy;

namespace {

bool same(const ClientHelloInfo& a, const ClientHelloInfo& b) {
    return a.complete == b.complete && a.server_name == b.server_name && a.alpn == b.alpn &&
           a.legacy_version == b.legacy_version && a.hello_bytes == b.hello_bytes;
}

bool is_lower_host_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// What an answer promises, and that it does not change as bytes are appended.
void check(std::string_view bytes, mproxy::fuzz::InputRandom& random) {
    ClientHelloInfo info;
    const HelloStatus status = inspect_client_hello(bytes, info);

    if (status != HelloStatus::ok) FUZZ_CHECK(!info.complete);
    if (status == HelloStatus::not_tls) {
        FUZZ_CHECK(!bytes.empty());
        FUZZ_CHECK(bytes[0] != 0x16 || (bytes.size() > 1 && bytes[1] != 3) ||
                   (bytes.size() > 2 && static_cast<unsigned char>(bytes[2]) > 4));
    }
    if (status == HelloStatus::ok) {
        FUZZ_CHECK(info.complete);
        FUZZ_CHECK(info.hello_bytes >= 5 + 4 + 38 && info.hello_bytes <= bytes.size());
        FUZZ_CHECK(info.hello_bytes <= max_client_hello_wire_bytes);
        FUZZ_CHECK(info.legacy_version >> 8 == 3);
        FUZZ_CHECK(info.server_name.size() <= 255);
        for (unsigned char c : info.server_name) FUZZ_CHECK(is_lower_host_char(c));
        for (const auto& protocol : info.alpn)
            FUZZ_CHECK(!protocol.empty() && protocol.size() <= 255);
        // Exactly the hello's records are enough, and one byte fewer is not.
        ClientHelloInfo exact;
        FUZZ_CHECK(inspect_client_hello(bytes.substr(0, info.hello_bytes), exact) ==
                   HelloStatus::ok);
        FUZZ_CHECK(same(exact, info));
        ClientHelloInfo shorter;
        FUZZ_CHECK(inspect_client_hello(bytes.substr(0, info.hello_bytes - 1), shorter) ==
                   HelloStatus::need_more);
    }

    // A prefix that has settled has settled the same way for the whole input.
    for (int i = 0; i < 4 && !bytes.empty(); ++i) {
        const std::size_t n = static_cast<std::size_t>(random.next() % bytes.size());
        ClientHelloInfo prefix_info;
        const HelloStatus prefix = inspect_client_hello(bytes.substr(0, n), prefix_info);
        if (prefix == HelloStatus::need_more) continue;
        FUZZ_CHECK(prefix == status);
        if (prefix == HelloStatus::ok) FUZZ_CHECK(same(prefix_info, info));
    }
    if (status == HelloStatus::need_more) FUZZ_CHECK(bytes.size() < max_client_hello_wire_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    mproxy::fuzz::InputRandom random(bytes);
    check(bytes, random);

    // The input as a hello body in one well-framed record, so that mutations reach the field
    // parsers without first having to keep three length fields in step.
    if (size + 4 <= max_client_hello_size) {
        std::string framed = "\x16\x03\x01";
        const std::size_t message = size + 4;
        framed += static_cast<char>(message >> 8);
        framed += static_cast<char>(message & 0xff);
        framed += '\x01';
        framed += static_cast<char>(0);
        framed += static_cast<char>(size >> 8);
        framed += static_cast<char>(size & 0xff);
        framed.append(bytes);
        check(framed, random);
    }
    return 0;
}
