#pragma once
// Addresses that fail in a chosen way, for the proxy's 502/504 answers.

#include <cstdint>
#include <vector>

#include "tests/support/blocking_socket.hpp"

namespace mproxy::test {

// A port that refuses connections: bound (so nobody else takes it) but not listening.
class RefusingPort {
  public:
    RefusingPort();
    ~RefusingPort();
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A listener that never accepts, with its accept queue filled, so further SYNs go unanswered and a
// connect to it hangs until the connector's own timeout.
class UnansweringListener {
  public:
    UnansweringListener();
    ~UnansweringListener();
    UnansweringListener(const UnansweringListener&) = delete;
    UnansweringListener& operator=(const UnansweringListener&) = delete;
    std::uint16_t port() const { return listener_.port(); }

  private:
    LoopbackListener listener_{0};
    std::vector<int> fillers_;  // connections occupying the queue
};

}  // namespace mproxy::test
