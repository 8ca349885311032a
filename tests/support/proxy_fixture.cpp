#include "tests/support/proxy_fixture.hpp"

#include <thread>

namespace mproxy::test {

proxy::ProxyConfig ProxyFixture::default_config() {
    proxy::ProxyConfig config;
    config.listen_host = "127.0.0.1";
    config.listen_port = 0;
    config.threads = 1;
    return config;
}

void ProxyFixture::start_proxy(proxy::ProxyConfig config) {
    if (proxy_) proxy_->stop();
    proxy_.reset();
    config.listen_port = 0;
    proxy_ = std::make_unique<proxy::ProxyServer>(std::move(config));
    proxy_->start();
}

void ProxyFixture::TearDown() {
    if (proxy_) proxy_->stop();
}

std::string describe(const proxy::ConnectionSnapshot& c) {
    return "id=" + std::to_string(c.id) + " client=" + c.client + " target=" + c.target +
           " mode=" + std::string(proxy::to_string(c.mode)) +
           " client_rx=" + std::to_string(c.client_rx) +
           " client_tx=" + std::to_string(c.client_tx) +
           " upstream_rx=" + std::to_string(c.upstream_rx) +
           " upstream_tx=" + std::to_string(c.upstream_tx) +
           " exchanges=" + std::to_string(c.exchanges);
}

std::string route_name(const ::testing::TestParamInfo<ClientRoute>& info) {
    return info.param == ClientRoute::absolute_form ? "AbsoluteForm" : "HttpConnect";
}

RawHttpClient ProxyFixture::open_connect(const std::string& authority, RawResponse& reply) {
    RawHttpClient client(proxy_port());
    client.send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    auto result = client.read_connect_reply();
    if (result.response)
        reply = std::move(*result.response);
    else
        ADD_FAILURE() << "no answer to CONNECT " << authority << ": " << result.error;
    return client;
}

std::uint16_t ProxyFixture::proxy_port() const {
    return proxy_->endpoint().port();
}

std::optional<proxy::ConnectionSnapshot> ProxyFixture::wait_for_connection(
    const ConnectionMatch& match, Deadline deadline) {
    for (;;) {
        for (const auto& connection : proxy_->connections().snapshot())
            if (match(connection)) return connection;
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // re-read: no event to wait on
    }
}

bool ProxyFixture::wait_for_no_connections(Deadline deadline) {
    for (;;) {
        if (proxy_->connections().live() == 0) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace mproxy::test
