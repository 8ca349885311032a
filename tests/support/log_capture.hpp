#pragma once
// Captures what the proxy logs (spdlog's default logger) while the object lives, so a test can
// wait for a line with a deadline. Install it before the proxy starts and let it go after the
// proxy stopped: the default logger is swapped, which must not race with a thread that logs.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "tests/support/deadline.hpp"

namespace mproxy::test {

class LogCapture {
  public:
    LogCapture();   // a logger with the previous one's sinks and level, plus this capture
    ~LogCapture();  // puts the previous logger back
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // Every message so far (payload only, no prefix).
    std::vector<std::string> lines() const;
    // Waits until a message containing `part` was logged.
    bool wait_for(std::string_view part, Deadline deadline = step_deadline()) const;

  private:
    struct Sink;
    struct State {
        mutable std::mutex mutex;
        std::condition_variable logged;
        std::vector<std::string> lines;
    };
    std::shared_ptr<State> state_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace mproxy::test
