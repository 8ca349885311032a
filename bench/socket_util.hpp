#pragma once
// Blocking POSIX socket helpers shared by the bench tools. Loopback only; every blocking call is
// bounded by SO_RCVTIMEO/SO_SNDTIMEO so that a stuck proxy cannot hang a benchmark run.

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace mproxy::bench {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

[[noreturn]] inline void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string str() const { return host + ":" + std::to_string(port); }
};

// "HOST:PORT"; throws std::invalid_argument on anything else.
inline Endpoint parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT");
    unsigned port = 0;
    const auto digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
        throw std::invalid_argument("bad port in " + std::string(text));
    return {std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

// Owns one file descriptor.
class Socket {
public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket& operator=(Socket&& other) noexcept {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket() { close(); }

    int fd() const { return fd_; }
    void close() {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

private:
    int fd_ = -1;
};

inline void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

inline void set_nodelay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

inline Socket connect_to(const Endpoint& to, std::chrono::milliseconds io_timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const auto port = std::to_string(to.port);
    if (const int rc = ::getaddrinfo(to.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        throw std::runtime_error("resolve " + to.str() + ": " + ::gai_strerror(rc));
    int last_errno = 0;
    for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
        Socket s{::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)};
        if (s.fd() < 0) {
            last_errno = errno;
            continue;
        }
        set_io_timeout(s.fd(), io_timeout);
        if (::connect(s.fd(), ai->ai_addr, ai->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            set_nodelay(s.fd());
            return s;
        }
        last_errno = errno;
    }
    ::freeaddrinfo(found);
    errno = last_errno;
    throw_errno(("connect " + to.str()).c_str());
}

// Listens on 127.0.0.1 with an ephemeral port; `port` receives the port chosen.
inline Socket listen_loopback(std::uint16_t& port) {
    Socket s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (s.fd() < 0) throw_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind");
    if (::listen(s.fd(), SOMAXCONN) != 0) throw_errno("listen");
    socklen_t len = sizeof addr;
    if (::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
    port = ntohs(addr.sin_port);
    return s;
}

inline void send_all(int fd, const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const auto n = ::send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("send");
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

inline void send_all(int fd, std::string_view text) { send_all(fd, text.data(), text.size()); }

// recv() that retries on EINTR and throws on errors; 0 means the peer closed.
inline std::size_t recv_some(int fd, void* data, std::size_t size) {
    for (;;) {
        const auto n = ::recv(fd, data, size, 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) throw_errno("recv");
    }
}

// True when the socket becomes readable within `timeout`.
inline bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    for (;;) {
        const int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (rc >= 0) return rc > 0;
        if (errno != EINTR) throw_errno("poll");
    }
}

// Reads one message head (through the blank line). `pending` holds bytes already received and
// keeps whatever follows the head. Returns nullopt when the peer closes before any byte of a head.
inline std::optional<std::string> read_head(int fd, std::string& pending, std::size_t limit = 64 * 1024) {
    for (;;) {
        if (const auto end = pending.find("\r\n\r\n"); end != std::string::npos) {
            std::string head = pending.substr(0, end + 4);
            pending.erase(0, end + 4);
            return head;
        }
        if (pending.size() > limit) throw std::runtime_error("message head larger than limit");
        char buf[16 * 1024];
        const auto n = recv_some(fd, buf, sizeof buf);
        if (n == 0) {
            if (pending.empty()) return std::nullopt;
            throw std::runtime_error("peer closed inside a message head");
        }
        pending.append(buf, n);
    }
}

// Status code of a response head ("HTTP/1.1 100 Continue"), or 0 when it is not one.
inline int status_code(std::string_view head) {
    if (!head.starts_with("HTTP/1.") || head.size() < 12) return 0;
    int code = 0;
    std::from_chars(head.data() + 9, head.data() + 12, code);
    return code;
}

// Value of the first header field named `name` (case-insensitive), trimmed.
inline std::optional<std::string_view> header_value(std::string_view head, std::string_view name) {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < head.size()) {
        const auto line_start = pos + 2;
        const auto line_end = head.find("\r\n", line_start);
        if (line_end == std::string_view::npos || line_end == line_start) break;
        const auto line = head.substr(line_start, line_end - line_start);
        const auto colon = line.find(':');
        if (colon == name.size() &&
            std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            })) {
            auto value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
            return value;
        }
        pos = line_end;
    }
    return std::nullopt;
}

inline std::uint64_t content_length(std::string_view head) {
    const auto value = header_value(head, "Content-Length");
    if (!value) return 0;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc{} || end != value->data() + value->size())
        throw std::runtime_error("bad Content-Length: " + std::string(*value));
    return n;
}

// Reads and discards `size` body bytes, taking the ones already in `pending` first.
inline void discard_body(int fd, std::string& pending, std::uint64_t size) {
    const auto from_pending = std::min<std::uint64_t>(size, pending.size());
    pending.erase(0, from_pending);
    size -= from_pending;
    char buf[64 * 1024];
    while (size > 0) {
        const auto n = recv_some(fd, buf, std::min<std::uint64_t>(size, sizeof buf));
        if (n == 0) throw std::runtime_error("peer closed inside a body");
        size -= n;
    }
}

}  // namespace mproxy::bench
