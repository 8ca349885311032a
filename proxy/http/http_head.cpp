#include "proxy/http/http_head.hpp"

#include <algorithm>
#include <charconv>

namespace mproxy::proxy {

namespace {
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

void HeaderFields::add(std::string name, std::string value) {
    fields_.push_back({std::move(name), std::move(value)});
}

std::size_t HeaderFields::remove(std::string_view name) {
    return std::erase_if(fields_, [&](const HeaderField& f) { return iequals(f.name, name); });
}

const std::string* HeaderFields::find(std::string_view name) const {
    for (const auto& f : fields_)
        if (iequals(f.name, name)) return &f.value;
    return nullptr;
}

std::size_t HeaderFields::count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(fields_.begin(), fields_.end(), [&](const HeaderField& f) { return iequals(f.name, name); }));
}

bool HeaderFields::has_token(std::string_view name, std::string_view token) const {
    bool found = false;
    for (const auto& f : fields_) {
        if (!iequals(f.name, name)) continue;
        for_each_list_element(f.value, [&](std::string_view element) {
            if (iequals(element, token)) found = true;
        });
    }
    return found;
}

namespace {
void append_fields(std::string& out, const HeaderFields& fields) {
    for (const auto& f : fields.all()) {
        out += f.name;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "\r\n";
}
}  // namespace

void append_head(std::string& out, const RequestHead& head) {
    out += head.method;
    out += ' ';
    out += head.target;
    out += head.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
    append_fields(out, head.fields);
}

void append_head(std::string& out, const ResponseHead& head) {
    out += head.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char digits[4] = {};
    std::to_chars(digits, digits + 3, head.status);
    out.append(digits, 3);
    out += ' ';
    out += head.reason;
    out += "\r\n";
    append_fields(out, head.fields);
}

}  // namespace mproxy::proxy
