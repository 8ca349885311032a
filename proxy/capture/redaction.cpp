#include "proxy/capture/redaction.hpp"

namespace mproxy::proxy {

std::string redacted_value(std::string_view value) {
    return "[redacted: " + std::to_string(value.size()) + " bytes]";
}

bool is_redacted(std::string_view name, const std::vector<std::string>& names) {
    for (const auto& redacted : names)
        if (iequals(name, redacted)) return true;
    return false;
}

}  // namespace mproxy::proxy
