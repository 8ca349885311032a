#pragma once
// The four things mproxy can do with a CONNECT.

#include <optional>
#include <string_view>

namespace mproxy::proxy {

enum class ConnectAction {
    tunnel,  // blind relay of bytes both ways
    http,    // read the tunnel's content as cleartext HTTP/1.1 exchanges with the authority
    reject,  // 403
};

std::string_view to_string(ConnectAction action);
std::optional<ConnectAction> parse_connect_action(std::string_view text);

}  // namespace mproxy::proxy
