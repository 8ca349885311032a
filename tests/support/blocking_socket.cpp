#include "tests/support/blocking_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace mproxy::test {

namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

int millis_until(Deadline deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, Deadline deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, millis_until(deadline));
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) throw_errno("poll");
    }
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

const char* to_string(ReadStatus status) {
    switch (status) {
        case ReadStatus::data:
            return "data";
        case ReadStatus::eof:
            return "eof";
        case ReadStatus::reset:
            return "reset";
        case ReadStatus::timeout:
            return "timeout";
    }
    return "?";
}

BlockingSocket::~BlockingSocket() {
    close();
}

BlockingSocket& BlockingSocket::operator=(BlockingSocket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

BlockingSocket BlockingSocket::connect_loopback(std::uint16_t port, Deadline deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    BlockingSocket socket(fd);
    set_nonblocking(fd);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto addr = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) throw_errno("connect");
        if (!wait_for(fd, POLLOUT, deadline))
            throw std::system_error(std::make_error_code(std::errc::timed_out), "connect");
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) throw std::system_error(error, std::generic_category(), "connect");
    }
    return socket;
}

void BlockingSocket::send_all(std::string_view bytes, Deadline deadline) {
    while (!bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd_, POLLOUT, deadline))
                throw std::system_error(std::make_error_code(std::errc::timed_out), "send");
            continue;
        }
        throw_errno("send");
    }
}

ReadStatus BlockingSocket::read_some(std::string& out, Deadline deadline) {
    char buffer[64 * 1024];
    for (;;) {
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
            return ReadStatus::data;
        }
        if (n == 0) return ReadStatus::eof;
        if (errno == EINTR) continue;
        if (errno == ECONNRESET || errno == EPIPE) return ReadStatus::reset;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd_, POLLIN, deadline)) return ReadStatus::timeout;
            continue;
        }
        throw_errno("recv");
    }
}

bool BlockingSocket::read_until(std::string& out, std::string_view delimiter, Deadline deadline) {
    while (out.find(delimiter) == std::string::npos)
        if (read_some(out, deadline) != ReadStatus::data) return false;
    return true;
}

bool BlockingSocket::read_exactly(std::string& out, std::size_t size, Deadline deadline) {
    while (out.size() < size)
        if (read_some(out, deadline) != ReadStatus::data) return false;
    return true;
}

ReadStatus BlockingSocket::read_until_closed(std::string& out, Deadline deadline) {
    for (;;) {
        const auto status = read_some(out, deadline);
        if (status != ReadStatus::data) return status;
    }
}

void BlockingSocket::shutdown_send() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void BlockingSocket::shutdown_both() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void BlockingSocket::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void BlockingSocket::reset() {
    if (fd_ < 0) return;
    linger lin{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
    close();
}

LoopbackListener::LoopbackListener(int backlog) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw_errno("socket");
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto addr = loopback(0);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind");
    if (::listen(fd_, backlog) != 0) throw_errno("listen");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    set_nonblocking(fd_);
}

LoopbackListener::~LoopbackListener() {
    close();
}

void LoopbackListener::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

BlockingSocket LoopbackListener::accept(Deadline deadline) {
    for (;;) {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return BlockingSocket(fd);
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return BlockingSocket();
        if (!wait_for(fd_, POLLIN, deadline)) return BlockingSocket();
    }
}

}  // namespace mproxy::test
