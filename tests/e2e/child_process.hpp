#pragma once
// A program run as a child process for end-to-end tests: its stderr and stdout go to a file that
// the test reads, and it is killed if the test forgets it.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mproxy::test {

class ChildProcess {
public:
    explicit ChildProcess(std::vector<std::string> argv);
    ~ChildProcess();  // SIGKILL if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    void signal(int sig) const;
    // The exit status (or 128 + signal), or nullopt if it still runs after `limit`.
    std::optional<int> wait(std::chrono::milliseconds limit);
    // Everything it printed so far.
    std::string output() const;
    // Waits until its output contains `text`; false after `limit` or if it exited first.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds limit);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string output_path_;
};

// Runs a command to completion; returns its exit status and what it printed on stdout.
struct CommandResult {
    int status = -1;
    std::string out;
};
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

}  // namespace mproxy::test
