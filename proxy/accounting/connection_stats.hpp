#pragma once
// Byte and exchange counters of one client connection. Written on the connection's own thread with
// relaxed atomics (the hot path pays one uncontended add), read from any thread by the registry.

#include <atomic>
#include <cstdint>

namespace mproxy::proxy {

struct ConnectionCounters {
    std::atomic<std::uint64_t> client_rx{0};    // wire bytes read from the client
    std::atomic<std::uint64_t> client_tx{0};    // wire bytes written to the client
    std::atomic<std::uint64_t> upstream_rx{0};  // wire bytes read from origins
    std::atomic<std::uint64_t> upstream_tx{0};  // wire bytes written to origins
    std::atomic<std::uint64_t> exchanges{0};    // request/response exchanges completed or attempted

    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
        counter.fetch_add(n, std::memory_order_relaxed);
    }
};

}  // namespace mproxy::proxy
