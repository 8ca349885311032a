#pragma once
// What every control-plane service works on: the running data plane and the control plane's own
// state. Built by ControlServer, shared (by reference) with each service.

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "control/auth.hpp"
#include "control/rule_store.hpp"
#include "control/traffic_sampler.hpp"
#include "proxy/proxy_server.hpp"

namespace mproxy::control {

struct ListenerInfo {
    std::string name;     // "proxy", "control", "metrics"
    std::string address;  // "host:port"
};

struct ControlContext {
    ControlContext(proxy::ProxyServer& p, RuleStore& r, const Authenticator& a, TrafficSampler& t, std::string id)
        : proxy(p), rules(r), auth(a), traffic(t), log_id(std::move(id)) {}

    proxy::ProxyServer& proxy;
    RuleStore& rules;
    const Authenticator& auth;
    TrafficSampler& traffic;
    std::string log_id;  // names this process's flow log: random, made at start
    // Filled in once the control port is bound, while calls may already run: read and write them
    // through these two, under the lock.
    std::vector<ListenerInfo> listeners() const {
        std::lock_guard lock(listeners_mutex);
        return listeners_;
    }
    void set_listeners(std::vector<ListenerInfo> listeners) {
        std::lock_guard lock(listeners_mutex);
        listeners_ = std::move(listeners);
    }

    mutable std::mutex listeners_mutex;
    std::vector<ListenerInfo> listeners_;
};

}  // namespace mproxy::control
