#include "tests/support/unreachable_origins.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace mproxy::test {

namespace {
sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}
}  // namespace

RefusingPort::RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto addr = loopback(0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::system_error(errno, std::generic_category(), "bind");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() {
    ::close(fd_);
}

UnansweringListener::UnansweringListener() {
    // With backlog 0 the queue holds one or two connections. Keep connecting until a connect stays
    // pending: from then on every SYN is dropped. The short poll here is a probe, not a sync point.
    for (int i = 0; i < 16; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        fillers_.push_back(fd);
        auto addr = loopback(port());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) continue;
        if (errno != EINPROGRESS)
            throw std::system_error(errno, std::generic_category(), "connect");
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 500) == 0) return;  // this one is stuck: the queue is full
    }
    throw std::runtime_error("could not fill the accept queue");
}

UnansweringListener::~UnansweringListener() {
    for (int fd : fillers_) ::close(fd);
}

}  // namespace mproxy::test
