#pragma once
// One connection to an origin, with the buffer of bytes read from it but not yet relayed.

#include <memory>

#include "proxy/authority.hpp"
#include "proxy/tcp_stream.hpp"

namespace mproxy::proxy {

struct UpstreamConnection {
    UpstreamConnection(tcp::socket socket, Authority authority)
        : stream(std::move(socket)), authority(std::move(authority)) {}

    TcpStream stream;
    beast::flat_buffer buffer;
    Authority authority;
    unsigned exchanges = 0;  // completed on this connection; > 0 means it came from the pool
};

}  // namespace mproxy::proxy
