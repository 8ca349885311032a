// Times a large upload sent with `Expect: 100-continue`, straight to an in-process origin or through
// a forward proxy. The origin answers `100 Continue` as soon as it has the request head, consumes
// the body, then answers 200. Client and origin share one process and one steady clock, so the
// tool can say how long the proxy took to relay the 100 from the origin to the client.
//
//   upload_expect [--proxy HOST:PORT] [--size BYTES] [--repeat N] [--wait-100-ms MS]
//
// One line per run, then a `summary:` line of key=value pairs that bench/upload_expect.sh reads.

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "socket_util.hpp"

namespace mproxy::bench {
namespace {

constexpr std::size_t chunk_size = 256 * 1024;

struct Options {
    std::optional<Endpoint> proxy;
    std::uint64_t size = 1ULL << 30;
    int repeat = 5;
    std::chrono::milliseconds wait_100{5000};  // a client gives up on the 100 after this and sends anyway
    std::chrono::milliseconds io_timeout{60000};
};

// What the origin saw of one upload, by run number.
struct OriginTimes {
    Clock::time_point head_received;
    Clock::time_point continue_sent;
    Clock::time_point body_received;
    bool sent_continue = false;
    std::uint64_t body_bytes = 0;
};

class Origin {
public:
    explicit Origin(std::chrono::milliseconds io_timeout) : io_timeout_(io_timeout) {
        listener_ = listen_loopback(port_);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~Origin() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
        }
        ::shutdown(listener_.fd(), SHUT_RDWR);
        acceptor_.join();
        for (auto& t : connections_) t.join();
    }

    std::uint16_t port() const { return port_; }

    // Waits until the origin has answered upload `run`.
    std::optional<OriginTimes> wait_for(int run, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, timeout, [&] { return finished_.contains(run); })) return std::nullopt;
        return finished_.at(run);
    }

private:
    void accept_loop() {
        for (;;) {
            Socket s{::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC)};
            std::lock_guard lock(mutex_);
            if (s.fd() < 0 || stopping_) return;
            set_nodelay(s.fd());
            set_io_timeout(s.fd(), io_timeout_);
            open_fds_.push_back(s.fd());
            connections_.emplace_back([this, conn = std::make_shared<Socket>(std::move(s))] { serve(*conn); });
        }
    }

    // One client connection: uploads one after the other while it stays open.
    void serve(Socket& conn) {
        std::vector<char> buf(chunk_size);
        std::string pending;
        try {
            while (auto head = read_head(conn.fd(), pending)) {
                OriginTimes times;
                times.head_received = Clock::now();
                const int run = run_number(*head);
                const auto expect = header_value(*head, "Expect");
                if (expect && (*expect == "100-continue" || *expect == "100-Continue")) {
                    // Stamped before send(): on a shared core the client may run before send() returns.
                    times.continue_sent = Clock::now();
                    send_all(conn.fd(), "HTTP/1.1 100 Continue\r\n\r\n");
                    times.sent_continue = true;
                }
                auto left = content_length(*head);
                const auto from_pending = std::min<std::uint64_t>(left, pending.size());
                pending.erase(0, from_pending);
                times.body_bytes = from_pending;
                left -= from_pending;
                while (left > 0) {
                    const auto n = recv_some(conn.fd(), buf.data(), std::min<std::uint64_t>(left, buf.size()));
                    if (n == 0) throw std::runtime_error("client closed inside the body");
                    left -= n;
                    times.body_bytes += n;
                }
                times.body_received = Clock::now();
                const auto body = "received " + std::to_string(times.body_bytes) + "\n";
                send_all(conn.fd(), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                        std::to_string(body.size()) + "\r\n\r\n" + body);
                std::lock_guard lock(mutex_);
                finished_[run] = times;
                done_.notify_all();
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            if (!stopping_) std::cerr << "origin: " << e.what() << "\n";
        }
        std::lock_guard lock(mutex_);
        std::erase(open_fds_, conn.fd());
    }

    // The run number is the last path segment: "/upload/3".
    static int run_number(std::string_view head) {
        const auto line = head.substr(0, head.find("\r\n"));
        const auto target_end = line.rfind(' ');
        const auto slash = line.rfind('/', target_end);
        if (target_end == std::string_view::npos || slash == std::string_view::npos) return -1;
        return std::atoi(std::string(line.substr(slash + 1, target_end - slash - 1)).c_str());
    }

    const std::chrono::milliseconds io_timeout_;
    std::uint16_t port_ = 0;
    Socket listener_;
    std::thread acceptor_;
    std::mutex mutex_;
    std::condition_variable done_;
    bool stopping_ = false;
    std::vector<int> open_fds_;
    std::vector<std::thread> connections_;
    std::map<int, OriginTimes> finished_;
};

struct RunResult {
    bool got_continue = false;
    int final_status = 0;
    double to_continue_ms = 0;     // client sent the head -> client has the 100
    double relay_ms = 0;           // origin sent the 100 -> client has it
    double head_to_origin_ms = 0;  // client sent the head -> origin has it
    double total_ms = 0;           // client sent the head -> client has the final response head
    double mib_per_s = 0;
};

RunResult upload_once(const Options& options, Origin& origin, int run) {
    const Endpoint origin_endpoint{"127.0.0.1", origin.port()};
    const auto authority = origin_endpoint.str();
    const std::string path = "/upload/" + std::to_string(run);
    const std::string target = options.proxy ? "http://" + authority + path : path;
    const std::string head = "PUT " + target + " HTTP/1.1\r\nHost: " + authority +
                             "\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                             std::to_string(options.size) + "\r\nExpect: 100-continue\r\n\r\n";

    Socket s = connect_to(options.proxy.value_or(origin_endpoint), options.io_timeout);
    RunResult result;
    std::string pending;

    send_all(s.fd(), head);
    const auto head_sent = Clock::now();

    // Wait for the interim response; a final one here is an early answer and ends the run.
    Clock::time_point continue_received{};
    if (wait_readable(s.fd(), options.wait_100)) {
        auto first = read_head(s.fd(), pending);
        if (!first) throw std::runtime_error("connection closed before any response");
        const int status = status_code(*first);
        if (status == 100) {
            continue_received = Clock::now();
            result.got_continue = true;
        } else if (status >= 200) {
            result.final_status = status;
            result.total_ms = ms_between(head_sent, Clock::now());
            return result;
        }
    }

    const std::vector<char> chunk(chunk_size, 'x');
    for (auto left = options.size; left > 0;) {
        const auto n = std::min<std::uint64_t>(left, chunk.size());
        send_all(s.fd(), chunk.data(), n);
        left -= n;
    }

    std::optional<std::string> final_head;
    do {
        final_head = read_head(s.fd(), pending);
        if (!final_head) throw std::runtime_error("connection closed before the final response");
    } while (status_code(*final_head) < 200);
    const auto final_received = Clock::now();
    result.final_status = status_code(*final_head);
    discard_body(s.fd(), pending, content_length(*final_head));

    result.total_ms = ms_between(head_sent, final_received);
    result.mib_per_s = static_cast<double>(options.size) / (1024.0 * 1024.0) / (result.total_ms / 1000.0);
    if (result.got_continue) result.to_continue_ms = ms_between(head_sent, continue_received);
    if (const auto seen = origin.wait_for(run, options.io_timeout)) {
        result.head_to_origin_ms = ms_between(head_sent, seen->head_received);
        if (result.got_continue && seen->sent_continue)
            result.relay_ms = ms_between(seen->continue_sent, continue_received);
        if (seen->body_bytes != options.size)
            throw std::runtime_error("origin received " + std::to_string(seen->body_bytes) + " bytes");
    }
    return result;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto mid = v.size() / 2;
    return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double max_of(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--proxy") o.proxy = parse_endpoint(value());
        else if (arg == "--size") o.size = std::stoull(value());
        else if (arg == "--repeat") o.repeat = std::stoi(value());
        else if (arg == "--wait-100-ms") o.wait_100 = std::chrono::milliseconds(std::stoll(value()));
        else if (arg == "--io-timeout-ms") o.io_timeout = std::chrono::milliseconds(std::stoll(value()));
        else throw std::invalid_argument("unknown option " + std::string(arg));
    }
    if (o.repeat < 1 || o.size == 0) throw std::invalid_argument("--repeat and --size must be positive");
    return o;
}

int run(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    Origin origin(options.io_timeout);
    std::vector<double> to_continue, relay, head_to_origin, total, throughput;
    int got_continue = 0, ok = 0;
    int last_status = 0;
    for (int i = 1; i <= options.repeat; ++i) {
        const auto r = upload_once(options, origin, i);
        last_status = r.final_status;
        if (r.got_continue)
            std::printf("run %d: status %d, head->origin %.3f ms, head->100 %.3f ms, 100 relay %.3f ms, "
                        "total %.1f ms (%.1f MiB/s)\n",
                        i, r.final_status, r.head_to_origin_ms, r.to_continue_ms, r.relay_ms, r.total_ms, r.mib_per_s);
        else
            std::printf("run %d: status %d, head->origin %.3f ms, no 100 within %lld ms, total %.1f ms (%.1f MiB/s)\n",
                        i, r.final_status, r.head_to_origin_ms, static_cast<long long>(options.wait_100.count()),
                        r.total_ms, r.mib_per_s);
        std::fflush(stdout);
        if (r.final_status == 200) ++ok;
        total.push_back(r.total_ms);
        throughput.push_back(r.mib_per_s);
        head_to_origin.push_back(r.head_to_origin_ms);
        if (!r.got_continue) continue;
        ++got_continue;
        to_continue.push_back(r.to_continue_ms);
        relay.push_back(r.relay_ms);
    }
    std::printf("summary: runs=%d ok=%d got_100=%d last_status=%d to_100_ms_median=%.3f relay_ms_median=%.3f "
                "relay_ms_max=%.3f head_to_origin_ms_median=%.3f total_ms_median=%.1f mib_per_s_median=%.1f\n",
                options.repeat, ok, got_continue, last_status, median(to_continue), median(relay), max_of(relay),
                median(head_to_origin), median(total), median(throughput));
    return ok == options.repeat && got_continue == options.repeat ? 0 : 2;
}

}  // namespace
}  // namespace mproxy::bench

int main(int argc, char** argv) {
    try {
        return mproxy::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "upload_expect: %s\n", e.what());
        return 1;
    }
}
