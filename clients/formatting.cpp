#include "clients/formatting.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace mproxy::ctl {

namespace {

std::string lowercase_after_prefix(const std::string& name, std::string_view prefix) {
    std::string out = name.starts_with(prefix) ? name.substr(prefix.size()) : name;
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

std::string enum_name_for_flag(const std::string& flag, std::string_view prefix) {
    std::string out(prefix);
    for (unsigned char c : flag) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    return out;
}

// "answer-locally" → EXPECT_POLICY_ANSWER_LOCALLY, through the enum's generated parser; an
// `invalid` value (the UNSPECIFIED zero) is refused like an unknown name.
template <class Enum>
std::optional<Enum> parse_flag_value(const std::string& flag, std::string_view prefix,
                                     bool (*parse)(const std::string&, Enum*),
                                     std::optional<Enum> invalid) {
    Enum value;
    if (!parse(enum_name_for_flag(flag, prefix), &value) || value == invalid) return std::nullopt;
    return value;
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

std::string human_duration(const google::protobuf::Duration& duration) {
    const std::int64_t micros = duration.seconds() * 1'000'000 + duration.nanos() / 1000;
    const std::int64_t seconds = duration.seconds();
    char text[32];
    if (micros < 1000)
        std::snprintf(text, sizeof text, "%lldus", static_cast<long long>(micros));
    else if (micros < 1'000'000)
        std::snprintf(text, sizeof text, "%lldms", static_cast<long long>(micros / 1000));
    else if (seconds < 60)
        std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(micros) / 1e6);
    else if (seconds < 3600)
        std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(seconds / 60),
                      static_cast<long long>(seconds % 60));
    else if (seconds < 86400)
        std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                      static_cast<long long>(seconds % 3600 / 60));
    else
        std::snprintf(text, sizeof text, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                      static_cast<long long>(seconds % 86400 / 3600));
    return text;
}

std::string timestamp_text(const google::protobuf::Timestamp& time) {
    const std::time_t seconds = time.seconds();
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
    return text;
}

std::string time_of_day(const google::protobuf::Timestamp& time) {
    const std::time_t seconds = time.seconds();
    std::tm parts{};
    localtime_r(&seconds, &parts);
    char text[32];
    std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03d", parts.tm_hour, parts.tm_min,
                  parts.tm_sec, time.nanos() / 1'000'000);
    return text;
}

std::string action_name(v1::Action action) {
    return lowercase_after_prefix(v1::Action_Name(action), "ACTION_");
}

std::optional<v1::Action> parse_action(const std::string& name) {
    return parse_flag_value(name, "ACTION_", v1::Action_Parse,
                            std::optional(v1::ACTION_UNSPECIFIED));
}

std::string mode_name(v1::ConnectionMode mode) {
    return lowercase_after_prefix(v1::ConnectionMode_Name(mode), "CONNECTION_MODE_");
}

std::optional<v1::ConnectionMode> parse_mode(const std::string& name) {
    return parse_flag_value(name, "CONNECTION_MODE_", v1::ConnectionMode_Parse,
                            std::optional(v1::CONNECTION_MODE_UNSPECIFIED));
}

std::optional<v1::ExpectPolicy> parse_expect(const std::string& name) {
    return parse_flag_value(name, "EXPECT_POLICY_", v1::ExpectPolicy_Parse,
                            std::optional<v1::ExpectPolicy>());
}

}  // namespace mproxy::ctl
