#pragma once
// Every wait in the tests is bounded: a deadline turns a hang into a failure with a message.

#include <chrono>

namespace mproxy::test {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_in(std::chrono::milliseconds span) {
    return Clock::now() + span;
}

// The default bound for one step of a test (a response, an accept, a close).
inline constexpr std::chrono::seconds step_timeout{20};

inline Deadline step_deadline() {
    return deadline_in(step_timeout);
}

}  // namespace mproxy::test
