#pragma once
// An origin that reads one request (head and Content-Length body), answers with a fixed response,
// and records exactly what it read: for tests that count wire bytes at both ends.

#include <mutex>
#include <stdexcept>
#include <string>

#include "tests/support/one_shot_event.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {

class RecordingOrigin {
  public:
    explicit RecordingOrigin(std::string response)
        : response_(std::move(response)),
          scripted_([this](BlockingSocket& connection, std::size_t) {
              std::string rest;
              std::string head = read_request_head(connection, rest);
              const auto at = head.find("Content-Length: ");
              const std::size_t body =
                  at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
              if (!connection.read_exactly(rest, body))
                  throw std::runtime_error("short request body");
              {
                  std::lock_guard lock(mutex_);
                  received_ = head + rest;
              }
              connection.send_all(response_);
              answered_.set();
              connection.read_until_closed(rest);  // keep the connection until the proxy drops it
          }) {}

    std::string authority() const { return scripted_.authority(); }
    std::string received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    bool wait_answered() { return answered_.wait(step_deadline()); }

  private:
    const std::string response_;
    mutable std::mutex mutex_;
    std::string received_;
    OneShotEvent answered_;
    ScriptedOrigin scripted_;  // last: its threads use the members above
};

// A tunnel's far end: reads exactly `expect` bytes, sends `reply`, then holds the connection until
// the proxy closes it.
class TunnelPeer {
  public:
    TunnelPeer(std::size_t expect, std::string reply)
        : reply_(std::move(reply)),
          scripted_([this, expect](BlockingSocket& connection, std::size_t) {
              std::string got;
              if (!connection.read_exactly(got, expect))
                  throw std::runtime_error("short tunnel data");
              connection.send_all(reply_);
              replied_.set();
              connection.read_until_closed(got);
          }) {}

    std::string authority() const { return scripted_.authority(); }
    bool wait_replied() { return replied_.wait(step_deadline()); }

  private:
    const std::string reply_;
    OneShotEvent replied_;
    ScriptedOrigin scripted_;  // last: its threads use the members above
};

}  // namespace mproxy::test
