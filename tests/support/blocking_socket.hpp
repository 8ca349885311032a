#pragma once
// A plain TCP socket with deadlines on every operation, for tests that must control each byte:
// the raw client, the scripted origin, and listeners that never accept.

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/support/deadline.hpp"

namespace mproxy::test {

enum class ReadStatus { data, eof, reset, timeout };
const char* to_string(ReadStatus status);

class BlockingSocket {
  public:
    BlockingSocket() = default;
    explicit BlockingSocket(int fd) : fd_(fd) {}
    ~BlockingSocket();
    BlockingSocket(BlockingSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    BlockingSocket& operator=(BlockingSocket&& other) noexcept;

    // Connects to 127.0.0.1:port (TCP_NODELAY on). Throws std::system_error on failure.
    static BlockingSocket connect_loopback(std::uint16_t port, Deadline deadline = step_deadline());

    bool is_open() const { return fd_ >= 0; }
    int native() const { return fd_; }

    // Writes every byte or throws (timeout, reset).
    void send_all(std::string_view bytes, Deadline deadline = step_deadline());
    // Appends what one read returns to `out`.
    ReadStatus read_some(std::string& out, Deadline deadline = step_deadline());
    // Reads until `delimiter` is in `out` (searching all of it); false on EOF/reset/timeout.
    bool read_until(std::string& out, std::string_view delimiter,
                    Deadline deadline = step_deadline());
    // Reads until `out` holds at least `size` bytes; false on EOF/reset/timeout.
    bool read_exactly(std::string& out, std::size_t size, Deadline deadline = step_deadline());
    // Reads until the peer closes (EOF or reset); returns how it ended (timeout if it did not).
    ReadStatus read_until_closed(std::string& out, Deadline deadline = step_deadline());

    void shutdown_send();
    void shutdown_both();  // wakes a thread blocked on this socket
    void close();
    // Closes with RST instead of FIN (SO_LINGER 0).
    void reset();

  private:
    int fd_ = -1;
};

// A listening socket on 127.0.0.1:0.
class LoopbackListener {
  public:
    explicit LoopbackListener(int backlog = 64);
    ~LoopbackListener();
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;

    std::uint16_t port() const { return port_; }
    int native() const { return fd_; }
    // An accepted connection, or a closed socket on timeout.
    BlockingSocket accept(Deadline deadline = step_deadline());
    void close();

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace mproxy::test
