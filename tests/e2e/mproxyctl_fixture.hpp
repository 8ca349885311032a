#pragma once
// Shared by the mproxyctl end-to-end tests: mproxyd started as a process (its proxy and control
// ports and its token learnt from what it prints and writes), mproxyctl run as a process with its
// stdout and stderr apart, and its JSON lines parsed.

#include <google/protobuf/struct.pb.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/child_process.hpp"
#include "tests/e2e/mproxyd_runner.hpp"

namespace mproxy::test {

// A TCP port nothing listens on at `address` right now (bound to port 0, then released).
std::uint16_t free_port(const std::string& address = "127.0.0.1");

// mproxyd keeping its state (CA, token, rules) in `state_dir`; start() again after stop() is a
// restart with the same token (and the same control port when `control_listen` names one).
class Mproxyd {
  public:
    // `extra`: more flags for mproxyd (--capture-body-bytes, ...).
    explicit Mproxyd(std::filesystem::path state_dir, std::string control_listen = "127.0.0.1:0",
                     std::vector<std::string> extra = {});
    void start();
    void stop();  // SIGTERM, and the exit awaited

    const std::string& proxy() const { return proxy_; }      // "127.0.0.1:PORT"
    const std::string& control() const { return control_; }  // "HOST:PORT"
    std::filesystem::path token_file() const { return state_dir_ / "control-token"; }
    std::string output() const { return process_ ? process_->output() : std::string(); }
    // --server and --token-file for this server.
    std::vector<std::string> connection() const {
        return {"--server", control_, "--token-file", token_file().string()};
    }

  private:
    std::filesystem::path state_dir_;
    std::string control_listen_;
    std::vector<std::string> extra_;
    std::unique_ptr<RunningMproxyd> process_;
    std::string proxy_, control_;
};

struct CtlResult {
    int status = -1;
    std::string out;
    std::string err;
};

// mproxyctl `args`, with MPROXY_SERVER and MPROXY_TOKEN unset unless `environment` ("NAME=value")
// sets them. Fails the test (with what it printed) if it runs longer than `limit`.
CtlResult run_mproxyctl(const std::vector<std::string>& args,
                        const std::vector<std::string>& environment = {},
                        std::chrono::milliseconds limit = std::chrono::seconds(60));

// `args` with the connection flags of `server` after them.
std::vector<std::string> with_connection(std::vector<std::string> args, const Mproxyd& server);

// mproxyctl left running (flows watch, conns list --watch): what it printed so far, stdout apart.
class MproxyctlProcess {
  public:
    explicit MproxyctlProcess(const std::vector<std::string>& args);
    ~MproxyctlProcess();
    std::string out() const { return process_->output(); }
    std::string err() const;
    // Waits until `done(out())` holds; false after `limit` or if mproxyctl ended first.
    template <class Predicate>
    bool wait_until(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(30));
    ChildProcess& process() { return *process_; }

  private:
    std::string err_path_;
    std::unique_ptr<ChildProcess> process_;
};

// Each line of `out` that is a JSON object, parsed; a line that is not fails the test.
std::vector<google::protobuf::Struct> json_lines(const std::string& out);
// The text of a field ("a.b" for nested), numbers as their decimal text, lists joined with ',',
// objects as "{...}"; "" when absent.
std::string field(const google::protobuf::Struct& object, const std::string& path);

// curl through `proxy`: the HTTP status it got ("000" when none).
std::string curl_status(const std::string& proxy, const std::string& url);

template <class Predicate>
bool MproxyctlProcess::wait_until(Predicate done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done(out())) return true;
        if (process_->wait(std::chrono::milliseconds(0)) ||
            std::chrono::steady_clock::now() >= until)
            return done(out());
        process_->wait(std::chrono::milliseconds(20));  // a bounded poll, not a synchronisation
    }
}

}  // namespace mproxy::test
