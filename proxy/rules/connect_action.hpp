#pragma once
// What mproxy can do with a CONNECT.

#include <optional>
#include <string_view>

namespace mproxy::proxy {

enum class ConnectAction {
    tunnel,  // blind relay of bytes both ways
    mitm,    // TLS from the client is terminated with a minted leaf and re-originated; cleartext as http
    http,    // read the tunnel's content as cleartext HTTP/1.1 exchanges with the authority
    reject,  // 403
};

std::string_view to_string(ConnectAction action);
std::optional<ConnectAction> parse_connect_action(std::string_view text);

}  // namespace mproxy::proxy
