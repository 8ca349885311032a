#pragma once
// mproxyd as a process for the service tests (configuration, reload, drain, limits): started with
// the arguments a test gives, its proxy, control and metrics ports read from its log.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/child_process.hpp"

namespace mproxy::test {

// Every listener on an ephemeral loopback port (parallel tests never collide).
std::vector<std::string> ephemeral_listeners();

class RunningMproxyd {
  public:
    // Starts MPROXYD_PATH with `args` and waits until it logs its metrics line (or "metrics off");
    // throws with its output when it does not start.
    explicit RunningMproxyd(const std::vector<std::string>& args);

    std::uint16_t proxy_port() const { return proxy_port_; }
    std::string proxy() const { return "127.0.0.1:" + std::to_string(proxy_port_); }
    std::string control() const { return control_; }
    std::uint16_t metrics_port() const { return metrics_port_; }
    ChildProcess& process() { return *process_; }
    std::string output() const { return process_->output(); }
    // Waits until the log shows `text` `times` times.
    bool wait_for_log(const std::string& text, std::size_t times = 1,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) const;

  private:
    std::unique_ptr<ChildProcess> process_;
    std::uint16_t proxy_port_ = 0, metrics_port_ = 0;
    std::string control_;
};

}  // namespace mproxy::test
