#pragma once
// An HTTPS origin for the TLS tests: the TestOrigin's routes (test_origin.hpp: /bytes/N, /upload
// with Expect: 100-continue, /reject-413, /early-hints, /ws, ...) served over TLS on
// 127.0.0.1:0 with a chosen certificate. Each TLS connection is terminated here and its cleartext
// relayed, full duplex, to a private TestOrigin, so the routes, their events ("100-sent <target>",
// "first-body-byte <target>", ...) and their gates are exactly those of the plain origin.
// Every handshake (SNI received, ALPN offered and chosen, failures) is recorded.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "tests/support/deadline.hpp"
#include "tests/support/test_origin.hpp"
#include "tests/support/test_pki.hpp"

namespace mproxy::test {

struct TlsOriginOptions {
    CertifiedKey certificate;  // leaf and key, PEM
    // ALPN protocols the origin accepts, in its order of preference; the first the client also
    // offers is chosen. Empty: ALPN is never acknowledged.
    std::vector<std::string> alpn = {"http/1.1"};
    int min_version = 0;  // TLS1_2_VERSION, TLS1_3_VERSION; 0 for OpenSSL's defaults
    int max_version = 0;
};

// One TLS handshake the origin took part in.
struct TlsHandshake {
    bool ok = false;
    std::string error;        // why it failed ("sslv3 alert certificate expired", ...)
    std::string server_name;  // SNI the client sent, "" for none
    std::vector<std::string> offered_alpn;  // the client's ALPN list, empty when none was sent
    std::string alpn;                       // the protocol chosen, "" when ALPN was not agreed
    std::string version;                    // "TLSv1.3", "TLSv1.2"
};

class TlsOrigin {
  public:
    explicit TlsOrigin(const CertifiedKey& certificate);
    explicit TlsOrigin(TlsOriginOptions options);
    ~TlsOrigin();
    TlsOrigin(const TlsOrigin&) = delete;
    TlsOrigin& operator=(const TlsOrigin&) = delete;

    std::uint16_t port() const { return port_; }
    std::string authority(std::string_view host = "127.0.0.1") const {
        return std::string(host) + ":" + std::to_string(port_);
    }
    // https://<host>:<port><path>; the standard certificates cover "localhost" and 127.0.0.1.
    std::string url(std::string_view path, std::string_view host = "localhost") const {
        return "https://" + authority(host) + std::string(path);
    }

    // The plain origin behind the TLS: its events, gates and counters (its connections are the
    // relayed ones, one per TLS connection that completed a handshake).
    TestOrigin& routes() { return routes_; }
    std::vector<std::string> events() const { return routes_.events(); }
    bool wait_for_event(std::string_view event, Deadline deadline = step_deadline()) const {
        return routes_.wait_for_event(event, deadline);
    }
    void open_gate(const std::string& name) { routes_.open_gate(name); }

    std::uint64_t accepted_connections() const { return accepted_.load(); }
    // Every handshake so far, successful or not, in the order they finished.
    std::vector<TlsHandshake> handshakes() const;
    // Waits until at least `count` handshakes have finished (either way).
    bool wait_for_handshakes(std::size_t count, Deadline deadline = step_deadline()) const;

  private:
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
    void record(TlsHandshake handshake);

    TestOrigin routes_;  // declared first: outlives the relays
    TlsOriginOptions options_;
    boost::asio::ssl::context context_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> accepted_{0};
    mutable std::mutex mutex_;
    mutable std::condition_variable recorded_;
    std::vector<TlsHandshake> handshakes_;
    std::thread thread_;
};

}  // namespace mproxy::test
