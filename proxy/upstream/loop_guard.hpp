#pragma once
// Knows the proxy's own listening address, so that a request aimed at the proxy itself is refused
// instead of connecting to itself until it runs out of sockets.

#include <vector>

#include "proxy/net/asio_types.hpp"

namespace mproxy::proxy {

class LoopGuard {
public:
    LoopGuard() = default;
    // For a wildcard listen address, every address of this host's interfaces counts as ours.
    explicit LoopGuard(const tcp::endpoint& listening);

    bool is_self(const tcp::endpoint& target) const;

private:
    unsigned short port_ = 0;
    std::vector<asio::ip::address> addresses_;
};

}  // namespace mproxy::proxy
