#pragma once
// A client that writes exact bytes and reads back responses one at a time, for the cases curl will
// not produce: malformed framing, pipelining, 1xx inspection, byte-exact counters.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/blocking_socket.hpp"
#include "tests/support/raw_response_parser.hpp"

namespace mproxy::test {

struct ReadResult {
    std::optional<RawResponse> response;  // empty when none could be read
    std::string error;                    // why not: timeout, closed, malformed
};

class RawHttpClient {
  public:
    explicit RawHttpClient(std::uint16_t port) : socket_(BlockingSocket::connect_loopback(port)) {}

    void send(std::string_view bytes) { socket_.send_all(bytes); }
    // The next response on the connection, interim (1xx) ones included.
    ReadResult read_response(bool head_request = false, Deadline deadline = step_deadline());
    // The answer to a CONNECT: a 2xx ends with its head (the tunnel starts there), others carry a
    // body.
    ReadResult read_connect_reply(Deadline deadline = step_deadline());
    // Waits until the proxy closes the connection; bytes that arrive meanwhile go to `extra`.
    ReadStatus wait_closed(std::string* extra = nullptr, Deadline deadline = step_deadline());
    // Reads raw bytes until `size` are buffered (what a tunnel relays), then hands them over.
    std::optional<std::string> read_raw(std::size_t size, Deadline deadline = step_deadline());

    BlockingSocket& socket() { return socket_; }
    const std::string& buffered() const { return buffer_; }
    bool peer_closed() const { return peer_closed_; }

  private:
    BlockingSocket socket_;
    std::string buffer_;
    bool peer_closed_ = false;
};

// "GET http://authority/path HTTP/1.1" with a Host header, for the common case.
std::string absolute_get(std::string_view authority, std::string_view path,
                         std::string_view extra_headers = "");

}  // namespace mproxy::test
