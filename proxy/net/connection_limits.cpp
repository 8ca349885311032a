#include "proxy/net/connection_limits.hpp"

namespace mproxy::proxy {

std::string_view to_string(Admission admission) {
    switch (admission) {
        case Admission::admitted:
            return "admitted";
        case Admission::over_max_connections:
            return "max_connections";
        case Admission::over_max_per_client:
            return "max_connections_per_client";
    }
    return "unknown";
}

Admission admit(const ConnectionLimits& limits, std::uint64_t live, std::uint64_t from_client) {
    if (limits.max_connections != 0 && live >= limits.max_connections)
        return Admission::over_max_connections;
    if (limits.max_connections_per_client != 0 && from_client >= limits.max_connections_per_client)
        return Admission::over_max_per_client;
    return Admission::admitted;
}

void LiveLimits::set(const ConnectionLimits& limits) {
    constexpr auto relaxed = std::memory_order_relaxed;
    max_connections_.store(limits.max_connections, relaxed);
    max_connections_per_client_.store(limits.max_connections_per_client, relaxed);
    max_connection_lifetime_ms_.store(limits.max_connection_lifetime.count(), relaxed);
}

ConnectionLimits LiveLimits::get() const {
    constexpr auto relaxed = std::memory_order_relaxed;
    ConnectionLimits limits;
    limits.max_connections = max_connections_.load(relaxed);
    limits.max_connections_per_client = max_connections_per_client_.load(relaxed);
    limits.max_connection_lifetime =
        std::chrono::milliseconds(max_connection_lifetime_ms_.load(relaxed));
    return limits;
}

}  // namespace mproxy::proxy
