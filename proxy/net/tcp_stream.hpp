#pragma once
// ByteStream over a TCP socket.

#include "proxy/net/byte_stream.hpp"

namespace mproxy::proxy {

class TcpStream final : public ByteStream {
public:
    explicit TcpStream(tcp::socket socket);

    awaitable<IoResult> read_some(asio::mutable_buffer buffer) override;
    awaitable<IoResult> write(std::span<const asio::const_buffer> buffers) override;
    using ByteStream::write;
    awaitable<error_code> wait_readable() override;
    awaitable<> shutdown_send() override;
    void shutdown_send_now();  // the same, for callers outside coroutines
    void cancel() override;
    void close() override;
    void reset() override;
    bool is_open() const override { return socket_.is_open(); }

    tcp::socket& socket() { return socket_; }
    // Bytes moved by splice(2), past read_some and write, still count as wire bytes.
    void note_received(std::size_t n) { count_rx(n); }
    void note_sent(std::size_t n) { count_tx(n); }

private:
    tcp::socket socket_;
};

}  // namespace mproxy::proxy
