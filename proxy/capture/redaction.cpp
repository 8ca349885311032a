#include "proxy/capture/redaction.hpp"

namespace mproxy::proxy {

std::string redacted_value(std::string_view value) {
    return "[redacted: " + std::to_string(value.size()) + " bytes]";
}

std::size_t redact_fields(HeaderFields& fields, const std::vector<std::string>& names) {
    std::size_t redacted = 0;
    for (auto& field : fields.all()) {
        for (const auto& name : names) {
            if (!iequals(field.name, name)) continue;
            field.value = redacted_value(field.value);
            ++redacted;
            break;
        }
    }
    return redacted;
}

}  // namespace mproxy::proxy
