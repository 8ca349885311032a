#pragma once
// The same raw-socket request through each mode in which mproxy parses HTTP: plain (absolute-form
// to the proxy), `http` (cleartext inside CONNECT) and `mitm` (a client that sends cleartext after
// the CONNECT is read as HTTP too), against a scripted origin that records every request head.

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "tests/support/mitm_fixture.hpp"
#include "tests/support/scripted_origin.hpp"

namespace mproxy::test {

enum class ParsingMode { plain, http, mitm };

inline std::string parsing_mode_name(const ::testing::TestParamInfo<ParsingMode>& info) {
    switch (info.param) {
        case ParsingMode::plain:
            return "plain";
        case ParsingMode::http:
            return "http";
        case ParsingMode::mitm:
            return "mitm";
    }
    return "unknown";
}

// An origin that answers each request head with `answer(head)` on a kept-alive connection, and
// keeps every head it read.
class RecordingScriptedOrigin {
  public:
    using Answer = std::function<std::string(const std::string& head)>;
    explicit RecordingScriptedOrigin(Answer answer) : answer_(std::move(answer)) {}

    std::string authority() const { return origin_.authority(); }
    std::vector<std::string> heads() const {
        std::lock_guard lock(mutex_);
        return heads_;
    }
    std::vector<std::string> failures() const { return origin_.failures(); }

  private:
    Answer answer_;
    mutable std::mutex mutex_;
    std::vector<std::string> heads_;
    ScriptedOrigin origin_{[this](BlockingSocket& connection, std::size_t) {
        std::string rest;
        for (;;) {
            std::string head;
            try {
                head = read_request_head(connection, rest);
            } catch (const std::exception&) {
                return;  // the proxy closed its connection: the script is done
            }
            {
                std::lock_guard lock(mutex_);
                heads_.push_back(head);
            }
            connection.send_all(answer_(head));
        }
    }};
};

class ParsingModeFixture : public MitmFixture, public ::testing::WithParamInterface<ParsingMode> {
  protected:
    proxy::ProxyConfig config() override {
        auto c = mitm_config();
        c.connect_action = GetParam() == ParsingMode::http ? proxy::ConnectAction::http
                                                           : proxy::ConnectAction::mitm;
        return c;
    }
    // A client connection on which requests for `authority` go as the mode sends them.
    RawHttpClient open_to(const std::string& authority) {
        if (GetParam() == ParsingMode::plain) return raw_client();
        RawResponse established;
        auto client = open_connect(authority, established);
        EXPECT_EQ(established.status, 200) << established.wire;
        return client;
    }
    // The request target for `path` at `authority`: absolute-form for the plain proxy, origin-form
    // inside a tunnel.
    std::string target(const std::string& authority, const std::string& path) const {
        return GetParam() == ParsingMode::plain ? "http://" + authority + path : path;
    }
};

}  // namespace mproxy::test
