#include "tests/support/scripted_origin.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace mproxy::test {

ScriptedOrigin::ScriptedOrigin(Script script) : script_(std::move(script)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedOrigin::~ScriptedOrigin() {
    stopping_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    acceptor_.join();
    {
        std::lock_guard lock(mutex_);
        for (auto* connection : live_) connection->shutdown_both();
    }
    for (auto& thread : scripts_) thread.join();
    ::close(wake_fd_);
}

std::vector<std::string> ScriptedOrigin::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

void ScriptedOrigin::accept_loop() {
    while (!stopping_) {
        pollfd fds[2] = {{listener_.native(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) continue;
        if (stopping_) break;
        if (!(fds[0].revents & POLLIN)) continue;
        BlockingSocket connection = listener_.accept(Clock::now());
        if (!connection.is_open()) continue;
        const std::size_t index = accepted_++;
        std::lock_guard lock(mutex_);
        scripts_.emplace_back([this, index, c = std::move(connection)]() mutable {
            {
                std::lock_guard lock(mutex_);
                if (stopping_) return;
                live_.push_back(&c);
            }
            try {
                script_(c, index);
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex_);
                failures_.push_back("connection " + std::to_string(index) + ": " + e.what());
            }
            std::lock_guard lock(mutex_);
            live_.erase(std::remove(live_.begin(), live_.end(), &c), live_.end());
            c.close();
        });
    }
}

std::string read_request_head(BlockingSocket& connection, std::string& rest, Deadline deadline) {
    std::string data = std::move(rest);
    rest.clear();
    if (!connection.read_until(data, "\r\n\r\n", deadline))
        throw std::runtime_error("connection ended before a full request head: [" + data + "]");
    const auto end = data.find("\r\n\r\n") + 4;
    rest = data.substr(end);
    data.resize(end);
    return data;
}

}  // namespace mproxy::test
