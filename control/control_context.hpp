#pragma once
// What every control-plane service works on: the running data plane and the control plane's own
// state. Built by ControlServer, shared (by reference) with each service.

#include <chrono>
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
    proxy::ProxyServer& proxy;
    RuleStore& rules;
    const Authenticator& auth;
    TrafficSampler& traffic;
    std::string log_id;  // names this process's flow log: random, made at start
    std::vector<ListenerInfo> listeners;
};

}  // namespace mproxy::control
