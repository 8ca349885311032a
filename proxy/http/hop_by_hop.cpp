#include "proxy/http/hop_by_hop.hpp"

#include <string>
#include <vector>

namespace mproxy::proxy {

bool keeps_alive(const HeaderFields& fields, unsigned version_minor) {
    if (fields.has_token("connection", "close") || fields.has_token("proxy-connection", "close"))
        return false;
    if (version_minor >= 1) return true;
    return fields.has_token("connection", "keep-alive") || fields.has_token("proxy-connection", "keep-alive");
}

bool is_websocket_upgrade(const RequestHead& head) {
    return head.method == "GET" && head.version_minor == 1 && head.fields.has_token("connection", "upgrade") &&
           head.fields.has_token("upgrade", "websocket");
}

void strip_hop_by_hop(HeaderFields& fields, bool keep_websocket_upgrade) {
    std::vector<std::string> named;
    for (const auto& f : fields.all()) {
        if (!iequals(f.name, "connection")) continue;
        for_each_list_element(f.value, [&](std::string_view token) { named.emplace_back(token); });
    }
    std::erase_if(fields.all(), [&](const HeaderField& f) {
        // Framing and Host are never hop-by-hop, whatever a Connection header claims.
        if (iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding") || iequals(f.name, "host"))
            return false;
        if (iequals(f.name, "connection") || iequals(f.name, "proxy-connection") ||
            iequals(f.name, "keep-alive") || iequals(f.name, "te") || iequals(f.name, "upgrade") ||
            iequals(f.name, "proxy-authorization") || iequals(f.name, "proxy-authenticate"))
            return true;
        for (const auto& n : named)
            if (iequals(f.name, n)) return true;
        return false;
    });
    if (keep_websocket_upgrade) {
        fields.add("Connection", "Upgrade");
        fields.add("Upgrade", "websocket");
    }
}

}  // namespace mproxy::proxy
