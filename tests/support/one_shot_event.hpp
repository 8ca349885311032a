#pragma once
// A flag one thread raises and another waits for, with a deadline: how a test and a scripted
// origin hand each other the baton without sleeping.

#include <condition_variable>
#include <mutex>

#include "tests/support/deadline.hpp"

namespace mproxy::test {

class OneShotEvent {
  public:
    void set() {
        {
            std::lock_guard lock(mutex_);
            set_ = true;
        }
        cv_.notify_all();
    }
    // True when the event was raised before the deadline.
    bool wait(Deadline deadline) {
        std::unique_lock lock(mutex_);
        return cv_.wait_until(lock, deadline, [this] { return set_; });
    }
    bool is_set() const {
        std::lock_guard lock(mutex_);
        return set_;
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool set_ = false;
};

}  // namespace mproxy::test
