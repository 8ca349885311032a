#include "tests/e2e/mproxyd_runner.hpp"

#include <regex>
#include <stdexcept>
#include <thread>

namespace mproxy::test {

std::vector<std::string> ephemeral_listeners() {
    return {"--listen",    "127.0.0.1:0",      "--control-listen",
            "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"};
}

RunningMproxyd::RunningMproxyd(const std::vector<std::string>& args) {
    std::vector<std::string> argv{MPROXYD_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(argv);
    // The last line of its start-up: metrics on, or off.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
        const auto out = process_->output();
        if (out.find("metrics (Prometheus) on") != std::string::npos ||
            out.find("metrics off") != std::string::npos)
            break;
        if (std::chrono::steady_clock::now() > deadline ||
            process_->wait(std::chrono::milliseconds(0)))
            throw std::runtime_error("mproxyd did not start: " + process_->output());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto out = process_->output();
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("listening on [^ ]*:([0-9]+) ")))
        throw std::runtime_error("no proxy port in: " + out);
    proxy_port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    if (std::regex_search(out, m, std::regex("control plane \\(gRPC\\) on ([^ ,]+),")))
        control_ = m[1].str();
    if (std::regex_search(out, m,
                          std::regex("metrics \\(Prometheus\\) on http://[^ ]*:([0-9]+)/metrics")))
        metrics_port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
}

bool RunningMproxyd::wait_for_log(const std::string& text, std::size_t times,
                                  std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto out = process_->output();
        std::size_t found = 0;
        for (auto at = out.find(text); at != std::string::npos;
             at = out.find(text, at + text.size()))
            ++found;
        if (found >= times) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace mproxy::test
