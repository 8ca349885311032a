#include "clients/time_spec.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>

#include "clients/cli_error.hpp"

namespace mproxy::ctl {

google::protobuf::Timestamp parse_time_spec(const std::string& text, const std::string& flag,
                                            std::chrono::system_clock::time_point now) {
    using google::protobuf::util::TimeUtil;
    std::uint64_t amount = 0;
    const auto* end = text.data() + text.size();
    const auto [unit, error] = std::from_chars(text.data(), end, amount);
    if (error == std::errc() && unit + 1 == end && unit != text.data()) {
        std::int64_t seconds_per = 0;
        switch (*unit) {
            case 's':
                seconds_per = 1;
                break;
            case 'm':
                seconds_per = 60;
                break;
            case 'h':
                seconds_per = 3600;
                break;
            case 'd':
                seconds_per = 86400;
                break;
            default:
                break;
        }
        if (seconds_per != 0 && amount < std::uint64_t{1} << 32) {
            // No further back than the epoch: the clock's range ends about 292 years out.
            const auto since_epoch =
                std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
            const auto back = std::min<std::int64_t>(
                static_cast<std::int64_t>(amount) * seconds_per, since_epoch);
            const auto at = now - std::chrono::seconds(back);
            return TimeUtil::MicrosecondsToTimestamp(
                std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch())
                    .count());
        }
    }
    google::protobuf::Timestamp stamp;
    if (TimeUtil::FromString(text, &stamp)) return stamp;
    throw CliError(exit_usage, flag + ": \"" + text +
                                   "\" is neither an age (90s, 15m, 2h, 7d) nor an RFC 3339 time "
                                   "(2026-12-04T02:00:00Z)");
}

}  // namespace mproxy::ctl
