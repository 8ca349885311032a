// HTTPS load for bench/run.sh's mitm group: wrk cannot CONNECT, so this tool opens its own
// connections, straight to an HTTPS origin or through a forward proxy (CONNECT, then TLS inside the
// tunnel), verifies the server's certificate against a CA file and the SNI name, and sends GETs.
// One thread (Asio coroutines over OpenSSL on non-blocking sockets).
//
//   https_load --target HOST:PORT --cafile FILE [--proxy HOST:PORT] [--sni NAME] [--path /1k]
//              [--connections N] [--duration SECONDS] [--new-connections] [--probe N] [--probe-domain D]
//
// Modes:
//   keep-alive (default)  N connections, each a loop of GETs on one TLS connection, for SECONDS;
//                         latency = request written -> response complete.
//   --new-connections     N concurrent loops of: connect (+CONNECT), full TLS handshake, one GET
//                         with `Connection: close`, close_notify, close; latency = the whole
//                         connection, and `handshake` = connect start -> TLS handshake done.
//   --probe N             one connection at a time, for N fresh names under --probe-domain: the
//                         first connection for a name ("cold": through mproxy that mints a leaf)
//                         then a second one for the same name ("cached"); each does one GET. The
//                         figures are connect start -> TLS handshake done (CONNECT included).
//
// Prints a `summary:` line of key=value pairs that bench/mitm.sh reads; errors are counted, not
// fatal (exit status 2 when any occurred, 1 on bad usage).

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string str() const { return host + ":" + std::to_string(port); }
};

Endpoint parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    unsigned port = 0;
    if (colon == std::string_view::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT");
    const auto digits = text.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
        throw std::invalid_argument("bad port in " + std::string(text));
    return {std::string(text.substr(0, colon)), static_cast<std::uint16_t>(port)};
}

struct Options {
    Endpoint target;
    std::optional<Endpoint> proxy;
    std::string sni = "localhost";
    std::string ca_file;
    std::string path = "/1k";
    int connections = 50;
    double duration = 10;
    bool new_connections = false;
    int probe = 0;
    std::string probe_domain = "bench.test";
};

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string ssl_error_text() {
    std::string text;
    while (const auto e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    return text.empty() ? "no OpenSSL detail" : text;
}

struct SslDeleter {
    void operator()(SSL* s) const { SSL_free(s); }
};

// One TLS client connection, optionally through a CONNECT tunnel. OpenSSL reads and writes the
// socket itself; when it would block, the coroutine waits for the socket with Asio.
class Connection {
public:
    Connection(asio::io_context& io, SSL_CTX* ctx) : socket_(io), ctx_(ctx) {}

    // TCP connect (to the proxy or the target), CONNECT when proxied, TLS handshake with `sni`.
    awaitable<void> open(const Options& o, const std::string& sni) {
        const Endpoint& first = o.proxy ? *o.proxy : o.target;
        const tcp::endpoint ep(asio::ip::make_address(first.host), first.port);
        co_await socket_.async_connect(ep, asio::use_awaitable);
        socket_.set_option(tcp::no_delay(true));
        if (o.proxy) co_await tunnel(o.target);
        socket_.native_non_blocking(true);
        ssl_.reset(SSL_new(ctx_));
        if (!ssl_) throw Failure("SSL_new: " + ssl_error_text());
        SSL_set_fd(ssl_.get(), socket_.native_handle());
        SSL_set_tlsext_host_name(ssl_.get(), sni.c_str());
        SSL_set1_host(ssl_.get(), sni.c_str());
        co_await ssl_op("handshake", [&] { return SSL_connect(ssl_.get()); });
        if (SSL_get_verify_result(ssl_.get()) != X509_V_OK) throw Failure("certificate not verified");
    }

    // Writes the request, reads one response with a Content-Length body; returns its status.
    awaitable<int> exchange(const std::string& request) {
        std::size_t written = 0;
        while (written < request.size()) {
            written += co_await ssl_op("write", [&] {
                return SSL_write(ssl_.get(), request.data() + written, static_cast<int>(request.size() - written));
            });
        }
        std::size_t head_end;
        while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
            if (pending_.size() > 64 * 1024) throw Failure("response head too large");
            co_await read_more();
        }
        const std::string_view head(pending_.data(), head_end + 4);
        const int status = status_of(head);
        const auto length = content_length(head);
        if (!length) throw Failure("response without Content-Length");
        const std::size_t total = head.size() + *length;
        while (pending_.size() < total) co_await read_more();
        pending_.erase(0, total);
        co_return status;
    }

    // Sends close_notify (without waiting for the peer's) and closes the socket.
    void close() {
        if (ssl_) {
            SSL_shutdown(ssl_.get());
            ssl_.reset();
        }
        error_code ignored;
        socket_.close(ignored);
    }

    ~Connection() { close(); }

private:
    awaitable<void> tunnel(const Endpoint& target) {
        const std::string request =
            "CONNECT " + target.str() + " HTTP/1.1\r\nHost: " + target.str() + "\r\n\r\n";
        co_await asio::async_write(socket_, asio::buffer(request), asio::use_awaitable);
        std::string head;
        char buf[1024];
        // Read byte-wise up to the end of the head: nothing may be consumed of what follows.
        while (!head.ends_with("\r\n\r\n")) {
            if (head.size() > sizeof buf * 8) throw Failure("CONNECT response head too large");
            co_await asio::async_read(socket_, asio::buffer(buf, 1), asio::use_awaitable);
            head.push_back(buf[0]);
        }
        if (status_of(head) != 200) throw Failure("CONNECT answered " + head.substr(0, head.find('\r')));
    }

    awaitable<void> read_more() {
        char buf[16 * 1024];
        const int n = co_await ssl_op("read", [&] { return SSL_read(ssl_.get(), buf, sizeof buf); });
        pending_.append(buf, static_cast<std::size_t>(n));
    }

    // Runs an OpenSSL call until it stops asking to wait for the socket; returns its positive result.
    template <typename Call>
    awaitable<int> ssl_op(const char* what, Call call) {
        for (;;) {
            ERR_clear_error();
            const int r = call();
            if (r > 0) co_return r;
            switch (SSL_get_error(ssl_.get(), r)) {
                case SSL_ERROR_WANT_READ:
                    co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable);
                    break;
                case SSL_ERROR_WANT_WRITE:
                    co_await socket_.async_wait(tcp::socket::wait_write, asio::use_awaitable);
                    break;
                case SSL_ERROR_ZERO_RETURN:
                    throw Failure(std::string(what) + ": peer closed the TLS connection");
                case SSL_ERROR_SYSCALL:
                    throw Failure(std::string(what) + ": connection closed or failed (errno " +
                                  std::to_string(errno) + ")");
                default:
                    throw Failure(std::string(what) + ": " + ssl_error_text());
            }
        }
    }

    static int status_of(std::string_view head) {
        // "HTTP/1.1 200 ..."
        if (head.size() < 12 || !head.starts_with("HTTP/1.")) throw Failure("not an HTTP response");
        int status = 0;
        std::from_chars(head.data() + 9, head.data() + 12, status);
        return status;
    }

    static std::optional<std::size_t> content_length(std::string_view head) {
        static constexpr std::string_view name = "\r\ncontent-length:";
        for (std::size_t i = 0; i + name.size() <= head.size(); ++i) {
            bool match = true;
            for (std::size_t j = 0; j < name.size() && match; ++j)
                match = std::tolower(static_cast<unsigned char>(head[i + j])) == name[j];
            if (!match) continue;
            auto p = i + name.size();
            while (p < head.size() && head[p] == ' ') ++p;
            std::size_t value = 0;
            const auto [end, ec] = std::from_chars(head.data() + p, head.data() + head.size(), value);
            if (ec != std::errc{}) return std::nullopt;
            return value;
        }
        return std::nullopt;
    }

    tcp::socket socket_;
    SSL_CTX* ctx_;
    std::unique_ptr<SSL, SslDeleter> ssl_;
    std::string pending_;
};

struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t bad_status = 0;
    std::vector<double> latency_us;    // per request (keep-alive) or per connection (new connections)
    std::vector<double> handshake_us;  // new connections: connect start -> handshake done
    std::string first_error;

    void error(const std::string& what) {
        ++errors;
        if (first_error.empty()) first_error = what;
    }
};

double us_since(Clock::time_point from) {
    return std::chrono::duration<double, std::micro>(Clock::now() - from).count();
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

std::string request_for(const Options& o, bool close) {
    return "GET " + o.path + " HTTP/1.1\r\nHost: " + o.sni + ":" + std::to_string(o.target.port) +
           "\r\nUser-Agent: mproxy-bench\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
}

// A refused or failing connection is retried, but not in a tight loop.
awaitable<void> pause_after_error(asio::io_context& io) {
    asio::steady_timer t(io, std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
}

awaitable<void> keep_alive_loop(asio::io_context& io, SSL_CTX* ctx, const Options& o, Clock::time_point end,
                                Stats& stats) {
    const auto request = request_for(o, false);
    while (Clock::now() < end) {
        Connection conn(io, ctx);
        try {
            co_await conn.open(o, o.sni);
            while (Clock::now() < end) {
                const auto sent = Clock::now();
                const int status = co_await conn.exchange(request);
                if (Clock::now() > end) break;  // finished after the measured window
                ++stats.requests;
                stats.latency_us.push_back(us_since(sent));
                if (status != 200) ++stats.bad_status;
            }
        } catch (const std::exception& e) {
            stats.error(e.what());
        }
        co_await pause_after_error(io);
    }
}

awaitable<void> new_connection_loop(asio::io_context& io, SSL_CTX* ctx, const Options& o, Clock::time_point end,
                                    Stats& stats) {
    const auto request = request_for(o, true);
    while (Clock::now() < end) {
        Connection conn(io, ctx);
        try {
            const auto start = Clock::now();
            co_await conn.open(o, o.sni);
            const auto handshake = us_since(start);
            const int status = co_await conn.exchange(request);
            const auto whole = us_since(start);
            conn.close();
            if (Clock::now() > end) break;
            ++stats.requests;
            stats.latency_us.push_back(whole);
            stats.handshake_us.push_back(handshake);
            if (status != 200) ++stats.bad_status;
            continue;
        } catch (const std::exception& e) {
            stats.error(e.what());
        }
        co_await pause_after_error(io);
    }
}

// One connection for `name`: milliseconds from connect start to handshake done, after a GET checks it.
awaitable<double> probe_once(asio::io_context& io, SSL_CTX* ctx, Options o, const std::string& name, Stats& stats) {
    o.sni = name;
    Connection conn(io, ctx);
    const auto start = Clock::now();
    co_await conn.open(o, name);
    const double ms = us_since(start) / 1000.0;
    if (co_await conn.exchange(request_for(o, true)) != 200) ++stats.bad_status;
    conn.close();
    co_return ms;
}

awaitable<void> probe_loop(asio::io_context& io, SSL_CTX* ctx, const Options& o, Stats& stats,
                           std::vector<double>& cold, std::vector<double>& cached) {
    // Names no earlier run has used: a leaf cache (or a CA state dir) never has them.
    std::random_device rd;
    const auto run_id = std::to_string(rd() % 1000000);
    try {
        // The first connection of a process pays for more than its leaf (contexts, first origin handshake).
        co_await probe_once(io, ctx, o, "warm-" + run_id + "." + o.probe_domain, stats);
        co_await probe_once(io, ctx, o, "warm-" + run_id + "." + o.probe_domain, stats);
    } catch (const std::exception& e) {
        stats.error(std::string("warm-up: ") + e.what());
    }
    for (int i = 0; i < o.probe; ++i) {
        const auto name = "n" + run_id + "-" + std::to_string(i) + "." + o.probe_domain;
        try {
            const double c = co_await probe_once(io, ctx, o, name, stats);
            const double h = co_await probe_once(io, ctx, o, name, stats);
            cold.push_back(c);
            cached.push_back(h);
            stats.requests += 2;
            std::printf("probe %s: cold %.3f ms, cached %.3f ms\n", name.c_str(), c, h);
        } catch (const std::exception& e) {
            stats.error(name + ": " + e.what());
        }
    }
}

double median(std::vector<double> v) { return percentile(v, 50); }

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_target = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--target") o.target = parse_endpoint(value()), have_target = true;
        else if (arg == "--proxy") o.proxy = parse_endpoint(value());
        else if (arg == "--sni") o.sni = value();
        else if (arg == "--cafile") o.ca_file = value();
        else if (arg == "--path") o.path = value();
        else if (arg == "--connections") o.connections = std::stoi(value());
        else if (arg == "--duration") o.duration = std::stod(value());
        else if (arg == "--new-connections") o.new_connections = true;
        else if (arg == "--probe") o.probe = std::stoi(value());
        else if (arg == "--probe-domain") o.probe_domain = value();
        else throw std::invalid_argument("unknown option " + std::string(arg));
    }
    if (!have_target || o.ca_file.empty()) throw std::invalid_argument("--target and --cafile are required");
    if (o.connections < 1 || o.duration <= 0) throw std::invalid_argument("--connections and --duration must be positive");
    return o;
}

int run(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
        throw std::runtime_error("cannot load " + o.ca_file + ": " + ssl_error_text());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);  // every handshake is a full one
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE);

    asio::io_context io(1);
    Stats stats;
    const auto start = Clock::now();
    if (o.probe > 0) {
        std::vector<double> cold, cached;
        asio::co_spawn(io, probe_loop(io, ctx.get(), o, stats, cold, cached), asio::detached);
        io.run();
        std::vector<double> diff;
        for (std::size_t i = 0; i < cold.size(); ++i) diff.push_back(cold[i] - cached[i]);
        std::printf("summary: mode=probe probes=%zu cold_ms_median=%.3f cached_ms_median=%.3f "
                    "cold_minus_cached_ms_median=%.3f errors=%llu bad_status=%llu\n",
                    cold.size(), median(cold), median(cached), median(diff),
                    static_cast<unsigned long long>(stats.errors), static_cast<unsigned long long>(stats.bad_status));
    } else {
        const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
        // A connection stuck on a dead peer must not hold the run past its end.
        asio::steady_timer guard(io, end + std::chrono::seconds(5));
        guard.async_wait([&](error_code ec) {
            if (!ec) {
                stats.error("connections still open 5 s after the end");
                io.stop();
            }
        });
        int live = o.connections;
        auto finished = [&](std::exception_ptr) {
            if (--live == 0) guard.cancel();  // the guard is then all that keeps io.run() going
        };
        for (int i = 0; i < o.connections; ++i) {
            if (o.new_connections)
                asio::co_spawn(io, new_connection_loop(io, ctx.get(), o, end, stats), finished);
            else
                asio::co_spawn(io, keep_alive_loop(io, ctx.get(), o, end, stats), finished);
        }
        io.run();
        const double seconds = o.duration;
        const double rps = static_cast<double>(stats.requests) / seconds;
        std::printf("summary: mode=%s connections=%d seconds=%.2f requests=%llu rps=%.1f p50_us=%.0f p90_us=%.0f "
                    "p99_us=%.0f handshake_p50_us=%.0f handshake_p99_us=%.0f errors=%llu bad_status=%llu\n",
                    o.new_connections ? "new" : "keepalive", o.connections, seconds,
                    static_cast<unsigned long long>(stats.requests), rps, percentile(stats.latency_us, 50),
                    percentile(stats.latency_us, 90), percentile(stats.latency_us, 99),
                    percentile(stats.handshake_us, 50), percentile(stats.handshake_us, 99),
                    static_cast<unsigned long long>(stats.errors), static_cast<unsigned long long>(stats.bad_status));
    }
    if (!stats.first_error.empty()) std::fprintf(stderr, "https_load: first error: %s\n", stats.first_error.c_str());
    return stats.errors || stats.bad_status ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "https_load: %s\n", e.what());
        return 1;
    }
}
