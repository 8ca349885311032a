#include "control/process_collector.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>

#include "control/metric_families.hpp"

namespace mproxy::control {

namespace {

struct ProcessStat {
    double cpu_seconds = 0;
    double start_time_seconds = 0;  // since the epoch
    double virtual_bytes = 0;
    double resident_bytes = 0;
    bool valid = false;
};

double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime" && in >> value) return value;
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

ProcessStat read_process_stat() {
    ProcessStat stat;
    std::ifstream in("/proc/self/stat");
    const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const auto name_end = line.rfind(')');
    if (name_end == std::string::npos) return stat;
    std::istringstream fields(line.substr(name_end + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                               std::istream_iterator<std::string>()};
    // f[0] is field 3 (state): field N is f[N - 3].
    if (f.size() < 22) return stat;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    stat.cpu_seconds = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
    stat.start_time_seconds = boot_time_seconds() + std::stod(f[22 - 3]) / ticks;
    stat.virtual_bytes = std::stod(f[23 - 3]);
    stat.resident_bytes = std::stod(f[24 - 3]) * page;
    stat.valid = true;
    return stat;
}

double open_descriptors() {
    std::error_code ec;
    double count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++count;
    return count > 0 ? count - 1 : 0;  // the directory iterator's own descriptor
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    const auto stat = read_process_stat();
    if (stat.valid) {
        auto cpu = counter_family("process_cpu_seconds_total",
                                  "User and system CPU time spent, in seconds.");
        add_sample(cpu, {}, stat.cpu_seconds);
        out.push_back(std::move(cpu));
        auto start = gauge_family("process_start_time_seconds",
                                  "Start time of the process since the Unix epoch, in seconds.");
        add_sample(start, {}, stat.start_time_seconds);
        out.push_back(std::move(start));
        auto resident =
            gauge_family("process_resident_memory_bytes", "Resident memory size, in bytes.");
        add_sample(resident, {}, stat.resident_bytes);
        out.push_back(std::move(resident));
        auto virt = gauge_family("process_virtual_memory_bytes", "Virtual memory size, in bytes.");
        add_sample(virt, {}, stat.virtual_bytes);
        out.push_back(std::move(virt));
    }
    auto fds = gauge_family("process_open_fds", "Open file descriptors.");
    add_sample(fds, {}, open_descriptors());
    out.push_back(std::move(fds));
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        auto max_fds =
            gauge_family("process_max_fds", "The most file descriptors the process may open.");
        add_sample(max_fds, {}, static_cast<double>(limit.rlim_cur));
        out.push_back(std::move(max_fds));
    }
    return out;
}

}  // namespace mproxy::control
