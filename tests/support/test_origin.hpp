#pragma once
// A well-behaved HTTP/1.1 origin (Beast, coroutines) on its own thread, listening on 127.0.0.1:0.
// Routes (all deterministic, bodies from payload.hpp):
//   GET|HEAD /bytes/N            N bytes, Content-Length
//   GET /chunked/N               N bytes chunked, trailer X-Body-Hash (declared in Trailer:)
//   POST|PUT /upload             reads the body; answers with X-Received-Bytes / X-Body-Hash and
//                                echoes request trailers named X-Trailer-* as X-Echo-<name>.
//                                Honours Expect: 100-continue (logs "100-sent" and
//                                "first-body-byte")
//   POST /reject-413             413 at once without reading the body; closes after gate "413"
//   GET /early-hints             102, 103 with a Link header, waits for gate "early-hints", then
//   200 GET /close-delimited/N       N bytes ended by closing the connection GET /status/204,
//   /status/304 no body (the 304 carries Content-Length: 5000) GET /die-mid-body/N Content-Length
//   N, N/2 bytes, then the connection closes GET /die-mid-chunked/N       chunked, one chunk of N/2
//   bytes, then the connection closes GET /echo-head               the request head as received, as
//   the body GET /say/TEXT                TEXT as the body GET /ws                      WebSocket:
//   sends "welcome", then echoes every message
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/support/deadline.hpp"

namespace mproxy::test {

class OriginSession;

class TestOrigin {
  public:
    TestOrigin();
    ~TestOrigin();
    TestOrigin(const TestOrigin&) = delete;
    TestOrigin& operator=(const TestOrigin&) = delete;

    std::uint16_t port() const { return port_; }
    std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string url(std::string_view path) const {
        return "http://" + authority() + std::string(path);
    }

    std::uint64_t accepted_connections() const { return accepted_.load(); }
    std::uint64_t requests() const { return requests_.load(); }
    std::uint64_t bytes_read() const { return bytes_read_.load(); }  // wire bytes, all connections
    std::uint64_t bytes_written() const { return bytes_written_.load(); }

    // Notable moments, in the order they happened: "request <target>", "100-sent <target>",
    // "first-body-byte <target>", "gate-timeout <name>", "body-done <target>".
    std::vector<std::string> events() const;
    // Waits until an event equal to `event` was logged.
    bool wait_for_event(std::string_view event, Deadline deadline = step_deadline()) const;

    // Lets routes waiting on the gate go on (now, and later ones at once).
    void open_gate(const std::string& name);

  private:
    friend class OriginSession;
    void log(std::string event);
    void count_read(std::size_t n) { bytes_read_ += n; }
    void count_written(std::size_t n) { bytes_written_ += n; }

    struct Gate;
    Gate& gate(const std::string& name);  // origin thread only
    // True when the gate was opened, false when `limit` passed first (logged as "gate-timeout").
    boost::asio::awaitable<bool> wait_gate(const std::string& name,
                                           std::chrono::milliseconds limit);

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> accepted_{0}, requests_{0}, bytes_read_{0}, bytes_written_{0};
    mutable std::mutex mutex_;
    mutable std::condition_variable logged_;
    std::vector<std::string> events_;
    std::map<std::string, std::shared_ptr<Gate>> gates_;
    std::thread thread_;
};

}  // namespace mproxy::test
