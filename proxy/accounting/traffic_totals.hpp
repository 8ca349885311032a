#pragma once
// Bytes of closed connections, folded by client address and by target, so that "who used the
// bandwidth since start" survives the connections. Live connections are added by the reader from
// the registry's snapshot. The number of keys is bounded: past the cap, new keys fold into one
// "(other)" entry, so a scan of many clients cannot grow memory without end.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mproxy::proxy {

struct TrafficBytes {
    std::uint64_t client_rx = 0, client_tx = 0, upstream_rx = 0, upstream_tx = 0;
    std::uint64_t connections = 0;
    std::uint64_t exchanges = 0;

    TrafficBytes& operator+=(const TrafficBytes& other);
};

class TrafficTotals {
public:
    explicit TrafficTotals(std::size_t max_keys = 10'000) : max_keys_(max_keys) {}

    void add(const std::string& client_ip, const std::string& target, const TrafficBytes& bytes);

    std::unordered_map<std::string, TrafficBytes> by_client() const;
    std::unordered_map<std::string, TrafficBytes> by_target() const;
    TrafficBytes total() const;

    static constexpr std::string_view other_key = "(other)";

private:
    void add_to(std::unordered_map<std::string, TrafficBytes>& map, const std::string& key, const TrafficBytes& bytes);

    const std::size_t max_keys_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, TrafficBytes> by_client_, by_target_;
    TrafficBytes total_;
};

}  // namespace mproxy::proxy
