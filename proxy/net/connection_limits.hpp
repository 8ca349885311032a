#pragma once
// Limits on client connections: how many at once, how many from one address, how long one may
// live. Changed at run time by a configuration reload (relaxed atomics: a new connection sees the
// new value soon, which is all a limit needs); the admission decision is a pure function.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace mproxy::proxy {

struct ConnectionLimits {
    std::uint64_t max_connections = 0;                     // 0: no limit
    std::uint64_t max_connections_per_client = 0;          // 0: no limit
    std::chrono::milliseconds max_connection_lifetime{0};  // 0: no limit
};

enum class Admission { admitted, over_max_connections, over_max_per_client };
std::string_view to_string(Admission admission);

// Whether one more connection may be served, given how many are open (`live`, and `from_client` of
// them from the new connection's address).
Admission admit(const ConnectionLimits& limits, std::uint64_t live, std::uint64_t from_client);

class LiveLimits {
  public:
    explicit LiveLimits(const ConnectionLimits& initial) { set(initial); }
    void set(const ConnectionLimits& limits);
    ConnectionLimits get() const;

  private:
    std::atomic<std::uint64_t> max_connections_{0};
    std::atomic<std::uint64_t> max_connections_per_client_{0};
    std::atomic<std::int64_t> max_connection_lifetime_ms_{0};
};

}  // namespace mproxy::proxy
