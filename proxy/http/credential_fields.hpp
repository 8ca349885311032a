#pragma once
// The fields that carry credentials, which mproxy never hands back to anyone: a TRACE echo leaves
// them out, and a capture stores them redacted unless a rule says otherwise.

#include <array>
#include <string_view>

#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

inline constexpr std::array<std::string_view, 4> credential_fields{
    "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"};

inline bool is_credential_field(std::string_view name) {
    for (const auto credential : credential_fields)
        if (iequals(name, credential)) return true;
    return false;
}

}  // namespace mproxy::proxy
