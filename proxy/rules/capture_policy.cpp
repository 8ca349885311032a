#include "proxy/rules/capture_policy.hpp"

#include <algorithm>
#include <cctype>

namespace mproxy::proxy {

namespace {
// The media type alone: "Text/HTML; charset=utf-8" -> "text/html".
std::string media_type(std::string_view content_type) {
    content_type = content_type.substr(0, content_type.find(';'));
    while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t'))
        content_type.remove_suffix(1);
    while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t'))
        content_type.remove_prefix(1);
    std::string lowered(content_type);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lowered;
}

bool any_matches(const std::vector<std::string>& patterns, const std::string& type) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
        const auto wanted = media_type(pattern);
        if (!wanted.empty() && wanted.back() == '/') return type.starts_with(wanted);
        return type == wanted;
    });
}
}  // namespace

bool keeps_body_of_type(const CapturePolicy& policy, std::string_view content_type) {
    // No list: every type, and nothing to lower-case (the server default, once per response).
    if (policy.body_content_types.empty() && policy.skip_body_content_types.empty()) return true;
    const auto type = media_type(content_type);
    if (!policy.body_content_types.empty() && !any_matches(policy.body_content_types, type))
        return false;
    return !any_matches(policy.skip_body_content_types, type);
}

}  // namespace mproxy::proxy
