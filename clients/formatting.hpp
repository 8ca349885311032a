#pragma once
// How values read in a table: byte counts in binary units, durations and times made short, and the
// API's enum names without their prefixes (and back, for flags).

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>

#include "mproxy/v1/flows.pb.h"
#include "mproxy/v1/rules.pb.h"

namespace mproxy::ctl {

// 512 B, 1.2 KiB, 3.4 MiB, ...
std::string human_bytes(std::uint64_t bytes);
// 850us, 12ms, 3.4s, 5m07s, 2h03m, 4d02h
std::string human_duration(const google::protobuf::Duration& duration);
// UTC, to the second: 2024-05-01 12:00:03
std::string timestamp_text(const google::protobuf::Timestamp& time);
// Local time of day, to the millisecond: 12:00:03.123 (for lines of a live watch)
std::string time_of_day(const google::protobuf::Timestamp& time);

std::string action_name(v1::Action action);  // "tunnel", "mitm", "http", "reject"
std::optional<v1::Action> parse_action(const std::string& name);
std::string mode_name(v1::ConnectionMode mode);  // "plain", "tunnel", ...
std::optional<v1::ConnectionMode> parse_mode(const std::string& name);
std::optional<v1::ExpectPolicy> parse_expect(
    const std::string& name);  // forward, answer-locally, reject

}  // namespace mproxy::ctl
