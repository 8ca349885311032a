#pragma once
// The fixture of the integration tests: the proxy in-process on 127.0.0.1:0, a TestOrigin beside
// it, and ways to wait on the proxy's connection registry with a deadline.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "proxy/proxy_server.hpp"
#include "tests/support/curl_transfer.hpp"
#include "tests/support/deadline.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {

// One line with every field, for failure messages.
std::string describe(const proxy::ConnectionSnapshot& connection);

// How curl reaches the origin: absolute-form through the proxy, or HTTP inside a CONNECT tunnel.
enum class ClientRoute { absolute_form, http_connect };
std::string route_name(const ::testing::TestParamInfo<ClientRoute>& info);
inline void PrintTo(ClientRoute route, std::ostream* out) {
    *out << (route == ClientRoute::absolute_form ? "absolute-form" : "http-inside-CONNECT");
}

class ProxyFixture : public ::testing::Test {
  protected:
    void SetUp() override { start_proxy(config()); }
    void TearDown() override;

    // Port 0, one worker thread, everything else as shipped.
    static proxy::ProxyConfig default_config();
    // What SetUp starts the proxy with; fixtures for other modes override it.
    virtual proxy::ProxyConfig config() { return default_config(); }
    // (Re)starts the proxy with `config` (its listen port is forced to 0).
    void start_proxy(proxy::ProxyConfig config);

    std::uint16_t proxy_port() const;
    std::string proxy_authority() const { return "127.0.0.1:" + std::to_string(proxy_port()); }
    proxy::ProxyServer& proxy() { return *proxy_; }
    RawHttpClient raw_client() const { return RawHttpClient(proxy_port()); }
    // Points `transfer` at the proxy the way `route` says.
    void route(CurlTransfer& transfer, ClientRoute route) const {
        transfer.via_proxy(proxy_port(), route == ClientRoute::http_connect);
    }

    using ConnectionMatch = std::function<bool(const proxy::ConnectionSnapshot&)>;
    // The first live connection for which `match` holds, once one does; nullopt at the deadline.
    // The registry offers no notification, so this re-reads its snapshot until then.
    std::optional<proxy::ConnectionSnapshot> wait_for_connection(
        const ConnectionMatch& match, Deadline deadline = step_deadline());
    // Waits until no connection is live; false at the deadline.
    bool wait_for_no_connections(Deadline deadline = step_deadline());

    // Sends CONNECT for `authority` on a new connection and reads the proxy's answer into `reply`.
    RawHttpClient open_connect(const std::string& authority, RawResponse& reply);

    TestOrigin origin;  // declared first: outlives the proxy

  private:
    std::unique_ptr<proxy::ProxyServer> proxy_;
};

}  // namespace mproxy::test
