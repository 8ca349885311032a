#include "proxy/upstream/loop_guard.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>

namespace mproxy::proxy {

namespace {
std::vector<asio::ip::address> interface_addresses() {
    std::vector<asio::ip::address> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (auto* it = list; it; it = it->ifa_next) {
        if (!it->ifa_addr) continue;
        if (it->ifa_addr->sa_family == AF_INET) {
            const auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
            out.emplace_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
        } else if (it->ifa_addr->sa_family == AF_INET6) {
            const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
            asio::ip::address_v6::bytes_type bytes;
            std::copy_n(sin6->sin6_addr.s6_addr, 16, bytes.begin());
            out.emplace_back(asio::ip::address_v6(bytes, sin6->sin6_scope_id));
        }
    }
    freeifaddrs(list);
    return out;
}

asio::ip::address normalise(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}
}  // namespace

LoopGuard::LoopGuard(const tcp::endpoint& listening) : port_(listening.port()) {
    if (listening.address().is_unspecified())
        addresses_ = interface_addresses();
    else
        addresses_.push_back(normalise(listening.address()));
}

bool LoopGuard::is_self(const tcp::endpoint& target) const {
    if (port_ == 0 || target.port() != port_) return false;
    const auto address = normalise(target.address());
    if (address.is_unspecified()) return true;  // connecting to 0.0.0.0 reaches this host
    return std::any_of(addresses_.begin(), addresses_.end(), [&](const auto& a) {
        return a == address || (a.is_v6() && address.is_v6() && a.to_v6().to_bytes() == address.to_v6().to_bytes());
    });
}

}  // namespace mproxy::proxy
