#include "control/metrics_server.hpp"

#include <prometheus/exposer.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>
#include <thread>

#include "control/connection_series.hpp"
#include "control/process_collector.hpp"
#include "control/proxy_collector.hpp"

namespace mproxy::control {

namespace {
// "host:port" or "[v6]:port": the host part, as written.
std::string host_of(const std::string& listen) {
    const auto colon = listen.rfind(':');
    return colon == std::string::npos ? listen : listen.substr(0, colon);
}
}  // namespace

MetricsServer::MetricsServer(MetricsConfig config, proxy::ProxyServer& proxy,
                             std::function<std::uint64_t()> rule_set_version)
    : config_(std::move(config)) {
    if (config_.listen.rfind(':') == std::string::npos)
        throw std::runtime_error("metrics listen address \"" + config_.listen +
                                 "\" needs host:port");
    if (config_.connection_series_limit < 4)
        throw std::runtime_error(
            "the connection series limit must allow one connection (4 series)");
    collectables_.push_back(std::make_shared<ProxyCollector>(proxy, std::move(rule_set_version)));
    collectables_.push_back(
        std::make_shared<ConnectionSeries>(proxy.connections(), config_.connection_series_limit));
    collectables_.push_back(std::make_shared<ProcessCollector>());
    try {
        // One thread serves scrapes: Prometheus scrapes one at a time, and collecting is quick.
        exposer_ = std::make_unique<prometheus::Exposer>(config_.listen, 1);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot listen for metrics on " + config_.listen + ": " +
                                 e.what());
    }
    const auto ports = exposer_->GetListeningPorts();
    if (ports.empty()) throw std::runtime_error("cannot listen for metrics on " + config_.listen);
    port_ = ports.front();
    for (const auto& collectable : collectables_) exposer_->RegisterCollectable(collectable);
}

MetricsServer::~MetricsServer() {
    // The embedded HTTP server notices it is being stopped only when its accept poll returns, which
    // without traffic takes up to two seconds; connections made while it stops wake it at once.
    std::atomic<bool> stopped{false};
    std::thread waker([this, &stopped] {
        while (!stopped.load()) {
            poke_listener();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    exposer_.reset();
    stopped = true;
    waker.join();
}

void MetricsServer::poke_listener() const {
    namespace ip = boost::asio::ip;
    auto host = host_of(config_.listen);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto address = ip::make_address(host, ec);
    if (ec) address = ip::address_v4::loopback();  // a name such as localhost
    if (address.is_unspecified())
        address = address.is_v6() ? ip::address(ip::address_v6::loopback())
                                  : ip::address(ip::address_v4::loopback());
    boost::asio::io_context io;
    ip::tcp::socket socket(io);
    socket.connect({address, static_cast<unsigned short>(port_)},
                   ec);  // a refused connect is fine too
}

std::string MetricsServer::address() const {
    return host_of(config_.listen) + ":" + std::to_string(port_);
}

}  // namespace mproxy::control
