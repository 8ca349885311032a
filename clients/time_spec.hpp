#pragma once
// Points in time as operators type them: an age ("90s", "15m", "2h", "7d": that long ago) or an
// RFC 3339 timestamp ("2026-12-04T02:00:00Z", "2026-12-04T03:00:00+01:00").

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <string>

namespace mproxy::ctl {

// Throws CliError(exit_usage) naming `flag` for anything else.
google::protobuf::Timestamp parse_time_spec(
    const std::string& text, const std::string& flag,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace mproxy::ctl
