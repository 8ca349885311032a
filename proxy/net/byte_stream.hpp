#pragma once
// A connection's byte stream as the exchange engine and tunnels see it, whatever carries it: plain
// TCP now, TLS for intercepted connections. Every read and write is counted in wire bytes.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "proxy/net/asio_types.hpp"

namespace mproxy::proxy {

struct IoResult {
    error_code ec;
    std::size_t bytes = 0;
};

class ByteStream {
public:
    virtual ~ByteStream() = default;

    // Reads at least one byte; asio::error::eof at a clean end of stream.
    virtual awaitable<IoResult> read_some(asio::mutable_buffer buffer) = 0;
    // Writes all of `buffers`, in order.
    virtual awaitable<IoResult> write(std::span<const asio::const_buffer> buffers) = 0;
    // Completes when a read would not block, without reading: lets an idle connection hold no buffer.
    virtual awaitable<error_code> wait_readable() = 0;
    // Half-close: the peer reads end of stream (TLS: after close_notify), and may keep sending.
    virtual awaitable<> shutdown_send() = 0;
    // Cancels pending operations (they complete with operation_aborted); the connection stays.
    virtual void cancel() = 0;
    // Ends the connection; pending operations complete with operation_aborted.
    virtual void close() = 0;
    // Ends the connection with a reset, so the peer sees an error rather than a clean end.
    virtual void reset() = 0;
    virtual bool is_open() const = 0;

    awaitable<IoResult> write(asio::const_buffer buffer) {
        const std::array<asio::const_buffer, 1> one{buffer};
        co_return co_await write(std::span<const asio::const_buffer>(one));
    }

    // Where this stream's wire bytes are counted; null pointers count nowhere.
    void count_into(std::atomic<std::uint64_t>* rx, std::atomic<std::uint64_t>* tx) {
        rx_counter_ = rx;
        tx_counter_ = tx;
    }

protected:
    void count_rx(std::size_t n) {
        if (rx_counter_) rx_counter_->fetch_add(n, std::memory_order_relaxed);
    }
    void count_tx(std::size_t n) {
        if (tx_counter_) tx_counter_->fetch_add(n, std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t>* rx_counter_ = nullptr;
    std::atomic<std::uint64_t>* tx_counter_ = nullptr;
};

}  // namespace mproxy::proxy
