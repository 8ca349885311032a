#pragma once
// `flows watch`: events as they happen, like `tail -f`. A dropped stream is resumed from the last
// event seen (sequence and log_id), so nothing is printed twice and nothing is lost that the server
// still holds; a server restart and missed events are said in a line of their own.

#include <mutex>
#include <optional>
#include <string>

#include "clients/control_channel.hpp"
#include "clients/output.hpp"
#include "clients/structured_text.hpp"
#include "mproxy/v1/flows.pb.h"

namespace mproxy::ctl {

struct WatchOptions {
    v1::FlowFilter filter;
    std::optional<std::uint64_t> since;  // resume after this sequence; else from now on
    bool headers = false;  // include_headers: heads with their fields, under their lines
    OutputFormat format = OutputFormat::table;
    bool tagged = false;
};

// Where the lines of every replica's watch go, one whole line at a time, flushed at once.
class WatchOutput {
  public:
    WatchOutput(OutputFormat format, bool tagged) : format_(format), tagged_(tagged) {}
    void event(const std::string& replica, const v1::FlowEvent& event);
    void gap(const std::string& replica, const std::string& log_id, const v1::Gap& gap);
    void notice(const std::string& replica, const std::string& text);  // stderr

  private:
    void write(const std::string& replica, const std::string& line);
    LeadingFields replica_field(const std::string& replica) const;

    std::mutex mutex_;
    OutputFormat format_;
    bool tagged_;
};

// Watches one replica until a failure that retrying cannot cure (a refused token, a bad filter):
// throws that CliError. An unreachable server at the start fails too; later it is waited for.
void watch_replica(const ControlChannel& replica, const WatchOptions& options, WatchOutput& output);

}  // namespace mproxy::ctl
