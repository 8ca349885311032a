#pragma once
// Secrets in a capture: the values of credential fields are kept as "[redacted: N bytes]", so that
// what is stored still shows that a credential was sent, and how long it was, but never the
// credential. Only the capture's copy is redacted, never the traffic.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/credential_fields.hpp"
#include "proxy/http/http_head.hpp"

namespace mproxy::proxy {

// Redacted unless a rule's capture policy names its own list: the credential fields.
inline const std::vector<std::string>& default_redacted_fields() {
    static const std::vector<std::string> names(credential_fields.begin(), credential_fields.end());
    return names;
}

// "[redacted: N bytes]" for a value of N bytes.
std::string redacted_value(std::string_view value);

// Whether a field of this name is stored redacted under `names` (case-insensitive).
bool is_redacted(std::string_view name, const std::vector<std::string>& names);

// Field names whose values a record keeps redacted, with the set of their lengths: most fields
// are told apart by their length alone, without comparing names.
struct RedactionList {
    explicit RedactionList(const std::vector<std::string>& list) : names(list) {
        for (const auto& name : names)
            lengths |= name.size() < 64 ? 1ull << name.size() : 1ull << 63;
    }
    bool holds(std::string_view name) const {
        const auto length_bit = name.size() < 64 ? 1ull << name.size() : 1ull << 63;
        return (lengths & length_bit) && is_redacted(name, names);
    }
    const std::vector<std::string>& names;
    std::uint64_t lengths = 0;
};

}  // namespace mproxy::proxy
