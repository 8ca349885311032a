// Where a request goes: CONNECT authorities, Host-style authorities and absolute-form targets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/authority.hpp"
#include "proxy/rules/connect_action.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace mproxy::proxy;

namespace {

bool is_host_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == ':';
}

// A parsed authority is plain, and its text form parses back to itself.
void check_authority(const Authority& a) {
    FUZZ_CHECK(!a.host.empty());
    FUZZ_CHECK(a.port != 0);
    for (unsigned char c : a.host) FUZZ_CHECK(is_host_char(c));
    const auto text = a.to_string();
    const auto back = parse_connect_authority(text);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == a);
    const auto with_default = parse_authority(text, 1);
    FUZZ_CHECK(with_default.has_value() && *with_default == a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const auto connect = parse_connect_authority(text);
    if (connect) {
        check_authority(*connect);
        FUZZ_CHECK(text.find('@') == std::string_view::npos && text.find('/') == std::string_view::npos);
    }
    const auto host = parse_authority(text, 80);
    if (host) check_authority(*host);
    // A port in the text wins over the default; only text without one takes it.
    if (connect) FUZZ_CHECK(host && *host == *connect);
    if (host && !connect) FUZZ_CHECK(host->port == 80);

    if (const auto target = parse_http_absolute_target(text)) {
        check_authority(target->authority);
        FUZZ_CHECK(!target->origin_form.empty() && target->origin_form.front() == '/');
        FUZZ_CHECK(target->origin_form.find('#') == std::string::npos);
        FUZZ_CHECK(text.size() >= 7);
        // Rebuilding the URI from its parts gives the same parts.
        const auto rebuilt = "http://" + target->authority.to_string() + target->origin_form;
        const auto again = parse_http_absolute_target(rebuilt);
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(again->authority == target->authority);
        FUZZ_CHECK(again->origin_form == target->origin_form);
    }

    if (const auto action = parse_connect_action(text)) FUZZ_CHECK(to_string(*action) == text);
    return 0;
}
