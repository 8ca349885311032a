#pragma once
// Host globs as rules and filters write them: '*' any run of characters (dots and nothing
// included), '?' exactly one, over the whole host, ASCII case folded (a locale must not change
// what matches). A single backtrack point: linear for one star, never exponential.

#include <string_view>

namespace mproxy::proxy {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool host_glob_matches(std::string_view pattern, std::string_view host) {
    std::size_t p = 0, h = 0;
    std::size_t star = std::string_view::npos, resume = 0;
    while (h < host.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = h;
        } else if (p < pattern.size() && (pattern[p] == '?' || ascii_lower(pattern[p]) == ascii_lower(host[h]))) {
            ++p;
            ++h;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            h = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

}  // namespace mproxy::proxy
