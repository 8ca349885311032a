#include "clients/replicas.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace mproxy::ctl {

namespace {

constexpr std::string_view dns_scheme = "dns:///";
constexpr const char* default_control_port = "9090";

// "name:port", "name", "[v6]:port": the name and the port apart.
std::pair<std::string, std::string> split_host_port(const std::string& authority) {
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string::npos)
            throw CliError(exit_usage, "--servers " + authority + ": missing ']'");
        const std::string host = authority.substr(1, close - 1);
        const bool has_port = close + 1 < authority.size() && authority[close + 1] == ':';
        return {host, has_port ? authority.substr(close + 2) : default_control_port};
    }
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos) return {authority, default_control_port};
    return {authority.substr(0, colon), authority.substr(colon + 1)};
}

std::vector<std::string> resolve(const std::string& authority) {
    const auto [host, port] = split_host_port(authority);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        throw CliError(exit_unreachable, "cannot resolve " + host + " (--servers dns:///" +
                                             authority + "): " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
    std::vector<std::string> addresses;
    for (const addrinfo* entry = found; entry; entry = entry->ai_next) {
        char text[NI_MAXHOST];
        if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof text, nullptr, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        std::string address =
            entry->ai_family == AF_INET6 ? std::string("[").append(text).append("]") : text;
        address.append(":").append(port);
        if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
            addresses.push_back(address);
    }
    if (addresses.empty())
        throw CliError(exit_unreachable, host + " resolves to no address (--servers)");
    return addresses;
}

}  // namespace

std::vector<std::string> replica_addresses(const std::string& servers) {
    if (servers.starts_with(dns_scheme)) return resolve(servers.substr(dns_scheme.size()));
    std::vector<std::string> addresses;
    std::size_t start = 0;
    while (start <= servers.size()) {
        const auto comma = std::min(servers.find(',', start), servers.size());
        const std::string address = servers.substr(start, comma - start);
        if (!address.empty() &&
            std::find(addresses.begin(), addresses.end(), address) == addresses.end())
            addresses.push_back(address);
        start = comma + 1;
    }
    if (addresses.empty())
        throw CliError(exit_usage, "--servers: no address given (A,B,C or dns:///name:port)");
    return addresses;
}

Fleet open_fleet(const ConnectionOptions& options) {
    const Token token = find_token(options);
    Fleet fleet;
    fleet.tagged = !options.servers.empty();
    const auto addresses =
        fleet.tagged ? replica_addresses(options.servers) : std::vector{options.server};
    for (const auto& address : addresses) fleet.replicas.emplace_back(address, options, token);
    return fleet;
}

void print_error(const CliError& error, const std::string& replica, bool tagged) {
    if (tagged)
        std::fprintf(stderr, "mproxyctl: [%s] %s\n", replica.c_str(), error.what());
    else
        std::fprintf(stderr, "mproxyctl: %s\n", error.what());
}

}  // namespace mproxy::ctl
