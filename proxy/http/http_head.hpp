#pragma once
// HTTP/1.x message heads as plain data. Field order, name spelling and values are kept as received
// so that what mproxy forwards differs from what it read only where it means to.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mproxy::proxy {

struct HeaderField {
    std::string name;
    std::string value;
};

class HeaderFields {
public:
    void add(std::string name, std::string value);
    // Removes every field with this name (case-insensitive); returns how many.
    std::size_t remove(std::string_view name);
    // The first value of a field, or nullptr.
    const std::string* find(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    // True if any field `name` holds `token` in its comma-separated list (case-insensitive).
    bool has_token(std::string_view name, std::string_view token) const;

    const std::vector<HeaderField>& all() const { return fields_; }
    std::vector<HeaderField>& all() { return fields_; }

private:
    std::vector<HeaderField> fields_;
};

struct RequestHead {
    std::string method;
    std::string target;  // as received: absolute-form, origin-form, authority-form or "*"
    unsigned version_minor = 1;
    HeaderFields fields;
};

struct ResponseHead {
    unsigned version_minor = 1;
    unsigned status = 0;
    std::string reason;
    HeaderFields fields;
};

// Serialises a head, including the blank line that ends it.
void append_head(std::string& out, const RequestHead& head);
void append_head(std::string& out, const ResponseHead& head);

bool iequals(std::string_view a, std::string_view b);
// Calls `visit` for each trimmed, non-empty element of a comma-separated list.
template <class Visit>
void for_each_list_element(std::string_view list, Visit&& visit) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        auto element = list.substr(0, comma);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t'))
            element.remove_prefix(1);
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t'))
            element.remove_suffix(1);
        if (!element.empty()) visit(element);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

}  // namespace mproxy::proxy
