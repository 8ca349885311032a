#include "proxy/accounting/traffic_totals.hpp"

namespace mproxy::proxy {

TrafficBytes& TrafficBytes::operator+=(const TrafficBytes& other) {
    client_rx += other.client_rx;
    client_tx += other.client_tx;
    upstream_rx += other.upstream_rx;
    upstream_tx += other.upstream_tx;
    connections += other.connections;
    exchanges += other.exchanges;
    return *this;
}

void TrafficTotals::add_to(std::unordered_map<std::string, TrafficBytes>& map, const std::string& key,
                           const TrafficBytes& bytes) {
    auto found = map.find(key);
    if (found == map.end() && map.size() >= max_keys_) found = map.try_emplace(std::string(other_key)).first;
    if (found == map.end()) found = map.try_emplace(key).first;
    found->second += bytes;
}

void TrafficTotals::add(const std::string& client_ip, const std::string& target, const TrafficBytes& bytes) {
    std::lock_guard lock(mutex_);
    add_to(by_client_, client_ip, bytes);
    if (!target.empty()) add_to(by_target_, target, bytes);
    total_ += bytes;
}

std::unordered_map<std::string, TrafficBytes> TrafficTotals::by_client() const {
    std::lock_guard lock(mutex_);
    return by_client_;
}

std::unordered_map<std::string, TrafficBytes> TrafficTotals::by_target() const {
    std::lock_guard lock(mutex_);
    return by_target_;
}

TrafficBytes TrafficTotals::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

}  // namespace mproxy::proxy
