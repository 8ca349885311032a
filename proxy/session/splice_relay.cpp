#include "proxy/session/splice_relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace mproxy::proxy {

namespace {

constexpr int pipe_bytes_wanted = 1 << 20;

// A pipe's two ends, closed on destruction.
class KernelPipe {
public:
    KernelPipe() {
        if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
            fds_[0] = fds_[1] = -1;
            return;
        }
        // Larger than the 64 KiB default where the system allows: fewer round trips per MiB.
        ::fcntl(fds_[1], F_SETPIPE_SZ, pipe_bytes_wanted);
        capacity_ = std::max(::fcntl(fds_[1], F_GETPIPE_SZ), 4096);
    }
    ~KernelPipe() {
        if (fds_[0] >= 0) ::close(fds_[0]);
        if (fds_[1] >= 0) ::close(fds_[1]);
    }
    KernelPipe(const KernelPipe&) = delete;
    KernelPipe& operator=(const KernelPipe&) = delete;

    bool ok() const { return fds_[0] >= 0; }
    int read_end() const { return fds_[0]; }
    int write_end() const { return fds_[1]; }
    std::size_t capacity() const { return static_cast<std::size_t>(capacity_); }

private:
    int fds_[2];
    int capacity_ = 65536;
};

error_code last_error() { return error_code(errno, boost::system::system_category()); }

}  // namespace

awaitable<SpliceResult> splice_relay(TcpStream& source, TcpStream& sink, std::uint64_t limit, Deadline& deadline,
                                     steady_clock::duration idle_timeout) {
    SpliceResult result;
    KernelPipe pipe;
    if (!pipe.ok()) {
        result.read_error = last_error();
        co_return result;
    }
    error_code ec;
    source.socket().native_non_blocking(true, ec);
    sink.socket().native_non_blocking(true, ec);
    const int from = source.socket().native_handle();
    const int to = sink.socket().native_handle();

    std::uint64_t remaining = limit;
    std::size_t in_pipe = 0;
    for (;;) {
        // Fill the pipe from the source while there is room and something to read.
        if (!result.source_ended && remaining > 0 && in_pipe < pipe.capacity()) {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, pipe.capacity() - in_pipe));
            const auto n = ::splice(from, nullptr, pipe.write_end(), nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                in_pipe += static_cast<std::size_t>(n);
                remaining -= static_cast<std::uint64_t>(n);
                source.note_received(static_cast<std::size_t>(n));
                deadline.expires_after(idle_timeout);
            } else if (n == 0) {
                result.source_ended = true;
            } else if (errno == EAGAIN && in_pipe == 0) {
                auto [wait_error] = co_await source.socket().async_wait(tcp::socket::wait_read, use_tuple);
                if (wait_error) {
                    result.read_error = wait_error;
                    co_return result;
                }
                continue;
            } else if (errno != EAGAIN && errno != EINTR) {
                result.read_error = last_error();
                if (in_pipe == 0) co_return result;
                result.source_ended = true;  // deliver what the pipe holds, then report the error
            }
        }
        // Drain the pipe into the sink.
        if (in_pipe > 0) {
            const auto n = ::splice(pipe.read_end(), nullptr, to, nullptr, in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                in_pipe -= static_cast<std::size_t>(n);
                result.bytes += static_cast<std::uint64_t>(n);
                sink.note_sent(static_cast<std::size_t>(n));
                deadline.expires_after(idle_timeout);
            } else if (n < 0 && errno == EAGAIN) {
                auto [wait_error] = co_await sink.socket().async_wait(tcp::socket::wait_write, use_tuple);
                if (wait_error) {
                    result.write_error = wait_error;
                    co_return result;
                }
            } else if (n < 0 && errno != EINTR) {
                result.write_error = last_error();
                co_return result;
            }
            continue;
        }
        if (result.source_ended || remaining == 0) co_return result;
    }
}

}  // namespace mproxy::proxy
