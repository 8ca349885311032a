#include "server/config_reloader.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>

#include "server/logging.hpp"

namespace mproxy::server {

namespace {

std::string content_of(const std::string& path) {
    if (path.empty()) return {};
    std::ifstream in(path, std::ios::binary);  // follows symlinks: a swapped ConfigMap reads anew
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
void report_if_changed(std::string_view setting, const T& running, const T& next) {
    if (!(running == next))
        spdlog::warn("configuration reload: {} changed; it takes effect at the next restart",
                     setting);
}

bool same_limits(const proxy::ConnectionLimits& a, const proxy::ConnectionLimits& b) {
    return a.max_connections == b.max_connections &&
           a.max_connections_per_client == b.max_connections_per_client &&
           a.max_connection_lifetime == b.max_connection_lifetime;
}

}  // namespace

ConfigReloader::ConfigReloader(int argc, char** argv, ServerOptions running,
                               proxy::ProxyServer& proxy, control::ControlServer& control)
    : argc_(argc), argv_(argv), proxy_(proxy), control_(control), running_(std::move(running)) {}

ConfigReloader::~ConfigReloader() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (watcher_.joinable()) watcher_.join();
}

ServerOptions ConfigReloader::running() const {
    std::lock_guard lock(mutex_);
    return running_;
}

std::string ConfigReloader::files_content() const {
    std::lock_guard lock(mutex_);
    return content_of(running_.config_file) + '\0' + content_of(control_.rules().file());
}

void ConfigReloader::watch(std::chrono::milliseconds period) {
    // The files as they are now, before the thread starts: a change made from here on is seen.
    watcher_ = std::thread([this, period, seen = files_content()]() mutable {
        std::unique_lock lock(stop_mutex_);
        while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
            lock.unlock();
            auto now = files_content();
            if (now != seen) {
                seen = std::move(now);
                reload("a configuration or rules file changed");
            }
            lock.lock();
        }
    });
}

bool ConfigReloader::reload(std::string_view why) {
    std::lock_guard lock(mutex_);
    auto read = read_server_options(argc_, argv_);
    if (auto* failure = std::get_if<OptionsFailure>(&read)) {
        spdlog::error("configuration reload ({}) refused, the running configuration stays: {}", why,
                      failure->message);
        return false;
    }
    auto& next = std::get<ServerOptions>(read);
    try {
        if (control_.rules().reload_file())
            spdlog::info("rules reloaded from {}", control_.rules().file());
    } catch (const std::exception& e) {
        spdlog::error("configuration reload ({}) refused, the running configuration stays: {}", why,
                      e.what());
        return false;
    }
    if (next.proxy.connect_action != running_.proxy.connect_action) {
        control_.rules().set_default_action(next.proxy.connect_action);
        spdlog::info("default CONNECT action is now {}",
                     proxy::to_string(next.proxy.connect_action));
    }
    if (!same_limits(next.proxy.limits, running_.proxy.limits)) {
        proxy_.set_limits(next.proxy.limits);
        spdlog::info(
            "connection limits now: {} connections, {} per client, lifetime {} s (0: none)",
            next.proxy.limits.max_connections, next.proxy.limits.max_connections_per_client,
            next.proxy.limits.max_connection_lifetime.count() / 1000.0);
    }
    if (next.log_level != running_.log_level || next.log_format != running_.log_format)
        configure_logging(next.log_level, next.log_format);
    apply_restart_only_changes(next);
    // What a reload cannot change stays as it runs; the rest is the new configuration.
    running_.proxy.connect_action = next.proxy.connect_action;
    running_.proxy.limits = next.proxy.limits;
    running_.log_level = next.log_level;
    running_.log_format = next.log_format;
    running_.drain_timeout = next.drain_timeout;
    spdlog::info("configuration reloaded ({})", why);
    return true;
}

void ConfigReloader::apply_restart_only_changes(const ServerOptions& next) const {
    const auto& a = running_;
    report_if_changed("listen", a.proxy.listen_host + ":" + std::to_string(a.proxy.listen_port),
                      next.proxy.listen_host + ":" + std::to_string(next.proxy.listen_port));
    report_if_changed("threads", a.proxy.threads, next.proxy.threads);
    report_if_changed("connect_timeout_seconds", a.proxy.connect_timeout,
                      next.proxy.connect_timeout);
    report_if_changed("header_timeout_seconds", a.proxy.header_timeout, next.proxy.header_timeout);
    report_if_changed("idle_timeout_seconds", a.proxy.idle_timeout, next.proxy.idle_timeout);
    report_if_changed("max_header_bytes", a.proxy.max_header_bytes, next.proxy.max_header_bytes);
    report_if_changed("state_dir", a.proxy.state_dir, next.proxy.state_dir);
    report_if_changed("ca_cert", a.proxy.ca_cert_file, next.proxy.ca_cert_file);
    report_if_changed("ca_key", a.proxy.ca_key_file, next.proxy.ca_key_file);
    report_if_changed("upstream_ca", a.proxy.upstream_ca_file, next.proxy.upstream_ca_file);
    report_if_changed("upstream_insecure", a.proxy.upstream_insecure, next.proxy.upstream_insecure);
    report_if_changed("leaf_cache_size", a.proxy.leaf_cache_size, next.proxy.leaf_cache_size);
    report_if_changed("flow_log_size", a.proxy.flow_log_size, next.proxy.flow_log_size);
    report_if_changed("capture.enabled", a.proxy.capture.enabled, next.proxy.capture.enabled);
    report_if_changed("capture.headers", a.proxy.capture.headers, next.proxy.capture.headers);
    report_if_changed("capture.body_bytes", a.proxy.capture.response_body_bytes,
                      next.proxy.capture.response_body_bytes);
    report_if_changed("capture.max_bytes", a.proxy.capture_max_bytes, next.proxy.capture_max_bytes);
    report_if_changed("capture.max_age_seconds", a.proxy.capture_max_age.count(),
                      next.proxy.capture_max_age.count());
    report_if_changed("control.listen", a.control.listen, next.control.listen);
    report_if_changed("control.token_file", a.control.token.token_file,
                      next.control.token.token_file);
    report_if_changed("control.tls_cert", a.control.tls_cert_file, next.control.tls_cert_file);
    report_if_changed("control.tls_key", a.control.tls_key_file, next.control.tls_key_file);
    report_if_changed("control.tls_client_ca", a.control.tls_client_ca_file,
                      next.control.tls_client_ca_file);
    report_if_changed("control.rules_file", a.control.rules_file, next.control.rules_file);
    report_if_changed("metrics.listen", a.metrics.listen, next.metrics.listen);
    report_if_changed("metrics.connection_series_limit", a.metrics.connection_series_limit,
                      next.metrics.connection_series_limit);
    report_if_changed("metrics.connection_grace_seconds", a.proxy.closed_connection_grace,
                      next.proxy.closed_connection_grace);
}

}  // namespace mproxy::server
