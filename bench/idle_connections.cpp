// Measures what idle client connections cost a server process: its RSS before and after opening
// N TCP connections to it, and again after closing them. The server is known to hold every
// connection when its count of open file descriptors has grown by N.
//
//   idle_connections --target HOST:PORT --pid PID [--count N] [--get TARGET] [--timeout-s S]
//
// With --get, each connection first sends one GET (TARGET as the request-target: absolute-form
// "http://host:port/path" for a proxy, "/path" for an origin) and reads the response, so that
// the connection idles in keep-alive rather than before its first request.
// Prints a `summary:` line of key=value pairs that bench/idle_connections.sh reads.

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "socket_util.hpp"

namespace mproxy::bench {
namespace {

struct Options {
    Endpoint target;
    int pid = 0;
    int count = 10'000;
    std::string get_target;  // empty: send nothing
    std::chrono::seconds timeout{30};
};

long rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

long open_fds(int pid) {
    long n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

// Polls until `done()` or the deadline; true when done.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// RSS once it has stopped moving: three equal samples 100 ms apart, or whatever it is after 3 s.
long settled_rss_kib(int pid) {
    long last = rss_kib(pid);
    int same = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (same < 3 && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const long now = rss_kib(pid);
        same = now == last ? same + 1 : 0;
        last = now;
    }
    return last;
}

void raise_fd_limit(int needed) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < static_cast<rlim_t>(needed))
        throw std::runtime_error("open-file limit " + std::to_string(limit.rlim_cur) + " is below " +
                                 std::to_string(needed));
}

void get_once(const Options& o, int fd) {
    std::string host = o.target.str();
    if (o.get_target.starts_with("http://")) {
        const auto rest = std::string_view(o.get_target).substr(7);
        host = std::string(rest.substr(0, rest.find('/')));
    }
    send_all(fd, "GET " + o.get_target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    std::string pending;
    const auto head = read_head(fd, pending);
    if (!head || status_code(*head) != 200)
        throw std::runtime_error("GET " + o.get_target + ": " + (head ? head->substr(0, head->find('\r')) : "closed"));
    discard_body(fd, pending, content_length(*head));
}

Options parse_options(int argc, char** argv) {
    Options o;
    bool have_target = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--target") {
            o.target = parse_endpoint(value());
            have_target = true;
        } else if (arg == "--pid") o.pid = std::stoi(value());
        else if (arg == "--count") o.count = std::stoi(value());
        else if (arg == "--get") o.get_target = value();
        else if (arg == "--timeout-s") o.timeout = std::chrono::seconds(std::stoll(value()));
        else throw std::invalid_argument("unknown option " + std::string(arg));
    }
    if (!have_target || o.pid <= 0 || o.count <= 0)
        throw std::invalid_argument("usage: idle_connections --target HOST:PORT --pid PID [--count N] [--get TARGET]");
    return o;
}

int run(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    raise_fd_limit(o.count + 64);
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);

    const long fds_before = open_fds(o.pid);
    const long rss_before = settled_rss_kib(o.pid);

    std::vector<Socket> connections;
    connections.reserve(static_cast<std::size_t>(o.count));
    const auto open_start = Clock::now();
    for (int i = 0; i < o.count; ++i) {
        connections.push_back(connect_to(o.target, timeout));
        if (!o.get_target.empty()) get_once(o, connections.back().fd());
    }
    const double open_ms = ms_between(open_start, Clock::now());

    const bool all_held = wait_until([&] { return open_fds(o.pid) >= fds_before + o.count; }, timeout);
    const long fds_held = open_fds(o.pid);
    const long rss_held = settled_rss_kib(o.pid);

    connections.clear();
    const long fds_other = std::max(0L, fds_held - fds_before - o.count);  // e.g. upstream connections
    wait_until([&] { return open_fds(o.pid) <= fds_before + fds_other; }, std::chrono::seconds(10));
    const long rss_after_close = settled_rss_kib(o.pid);

    const double per_connection = static_cast<double>(rss_held - rss_before) / o.count;
    std::printf("summary: count=%d all_held=%d held=%ld fds_before=%ld fds_held=%ld open_ms=%.0f rss_before_kib=%ld "
                "rss_held_kib=%ld rss_after_close_kib=%ld kib_per_conn=%.2f\n",
                o.count, all_held ? 1 : 0, std::min<long>(o.count, fds_held - fds_before), fds_before, fds_held, open_ms, rss_before, rss_held, rss_after_close,
                per_connection);
    return all_held ? 0 : 2;
}

}  // namespace
}  // namespace mproxy::bench

int main(int argc, char** argv) {
    try {
        return mproxy::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "idle_connections: %s\n", e.what());
        return 1;
    }
}
