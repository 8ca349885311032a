#pragma once
// An origin whose every connection runs a test-written script over a blocking socket: for the edge
// cases a well-behaved server never produces (half-closes, exact bytes, dying at a chosen point).

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/blocking_socket.hpp"

namespace mproxy::test {

class ScriptedOrigin {
  public:
    // `script` runs on its own thread for each accepted connection; `index` counts from 0.
    // An exception thrown by it is recorded in failures().
    using Script = std::function<void(BlockingSocket& connection, std::size_t index)>;

    explicit ScriptedOrigin(Script script);
    ~ScriptedOrigin();  // unblocks and joins every script
    ScriptedOrigin(const ScriptedOrigin&) = delete;
    ScriptedOrigin& operator=(const ScriptedOrigin&) = delete;

    std::uint16_t port() const { return listener_.port(); }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port()); }
    std::size_t accepted() const { return accepted_.load(); }
    std::vector<std::string> failures() const;

  private:
    void accept_loop();

    Script script_;
    LoopbackListener listener_;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> accepted_{0};
    mutable std::mutex mutex_;
    std::vector<std::thread> scripts_;
    std::vector<BlockingSocket*> live_;  // shut down on destruction so scripts return
    std::vector<std::string> failures_;
    std::thread acceptor_;
};

// Reads one request head (through the blank line) from `connection`, keeping any bytes after it in
// `rest`; throws if the connection ends first.
std::string read_request_head(BlockingSocket& connection, std::string& rest,
                              Deadline deadline = step_deadline());

}  // namespace mproxy::test
