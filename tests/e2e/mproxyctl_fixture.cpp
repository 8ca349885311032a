#include "tests/e2e/mproxyctl_fixture.hpp"

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mproxy::test {

namespace {

using namespace std::chrono_literals;
const std::string mproxyctl_path = MPROXYCTL_PATH;

std::string temp_file(const char* prefix) {
    std::string name = std::string("/tmp/") + prefix + "-XXXXXX";
    const int fd = mkstemp(name.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    return name;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// env without the variables that would change mproxyctl's answers, plus `environment`; then a
// shell that sends stderr to its own file and becomes mproxyctl.
std::vector<std::string> command_line(const std::vector<std::string>& args,
                                      const std::vector<std::string>& environment,
                                      const std::string& err_path) {
    std::vector<std::string> argv{"/usr/bin/env", "-u", "MPROXY_SERVER", "-u", "MPROXY_TOKEN"};
    argv.insert(argv.end(), environment.begin(), environment.end());
    argv.insert(argv.end(),
                {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>'" + err_path + "'", mproxyctl_path});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::string value_text(const google::protobuf::Value& value) {
    if (value.has_string_value()) return value.string_value();
    if (value.has_bool_value()) return value.bool_value() ? "true" : "false";
    if (value.has_number_value())
        return std::to_string(static_cast<long long>(value.number_value()));
    if (value.has_list_value()) {
        std::string joined;
        for (const auto& entry : value.list_value().values())
            joined.append(joined.empty() ? "" : ",").append(value_text(entry));
        return joined;
    }
    return value.has_struct_value() ? "{...}" : "";
}

}  // namespace

std::uint16_t free_port(const std::string& address) {
    const bool v6 = address.find(':') != std::string::npos;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr);
        length = sizeof *in6;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
        in4->sin_family = AF_INET;
        inet_pton(AF_INET, address.c_str(), &in4->sin_addr);
        length = sizeof *in4;
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a port on " + address);
    }
    ::close(fd);
    return ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

Mproxyd::Mproxyd(std::filesystem::path state_dir, std::string control_listen,
                 std::vector<std::string> extra)
    : state_dir_(std::move(state_dir)),
      control_listen_(std::move(control_listen)),
      extra_(std::move(extra)) {
    start();
}

void Mproxyd::start() {
    std::vector<std::string> args{"--listen",         "127.0.0.1:0", "--control-listen",
                                  control_listen_,    "--metrics-listen", "127.0.0.1:0",
                                  "--state-dir",      state_dir_.string()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<RunningMproxyd>(args);
    proxy_ = process_->proxy();
    control_ = process_->control();
}

void Mproxyd::stop() {
    process_->process().signal(SIGTERM);
    const auto status = process_->process().wait(20s);
    ASSERT_TRUE(status.has_value()) << "mproxyd still running 20 s after SIGTERM";
    EXPECT_EQ(*status, 0) << process_->output();
    process_.reset();
}

CtlResult run_mproxyctl(const std::vector<std::string>& args,
                        const std::vector<std::string>& environment,
                        std::chrono::milliseconds limit) {
    const auto err_path = temp_file("mproxyctl-err");
    CtlResult result;
    {
        ChildProcess child(command_line(args, environment, err_path));
        result.status = child.wait(limit).value_or(-1);
        result.out = child.output();
    }
    result.err = read_all(err_path);
    ::unlink(err_path.c_str());
    EXPECT_NE(result.status, -1) << "mproxyctl still running after the limit: " << result.out
                                 << result.err;
    return result;
}

std::vector<std::string> with_connection(std::vector<std::string> args, const Mproxyd& server) {
    const auto connection = server.connection();
    args.insert(args.end(), connection.begin(), connection.end());
    return args;
}

MproxyctlProcess::MproxyctlProcess(const std::vector<std::string>& args)
    : err_path_(temp_file("mproxyctl-err")) {
    process_ = std::make_unique<ChildProcess>(command_line(args, {}, err_path_));
}

MproxyctlProcess::~MproxyctlProcess() {
    process_.reset();
    ::unlink(err_path_.c_str());
}

std::string MproxyctlProcess::err() const {
    return read_all(err_path_);
}

std::vector<google::protobuf::Struct> json_lines(const std::string& out) {
    std::vector<google::protobuf::Struct> objects;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        google::protobuf::Struct object;
        const auto status = google::protobuf::util::JsonStringToMessage(line, &object);
        EXPECT_TRUE(status.ok()) << "not a JSON object: " << line << " (" << status.message()
                                 << ")";
        if (status.ok()) objects.push_back(std::move(object));
    }
    return objects;
}

std::string field(const google::protobuf::Struct& object, const std::string& path) {
    const google::protobuf::Struct* current = &object;
    std::size_t start = 0;
    for (;;) {
        const auto dot = path.find('.', start);
        const auto name =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const auto found = current->fields().find(name);
        if (found == current->fields().end()) return "";
        const auto& value = found->second;
        if (dot != std::string::npos) {
            if (!value.has_struct_value()) return "";
            current = &value.struct_value();
            start = dot + 1;
            continue;
        }
        return value_text(value);
    }
}

std::string curl_status(const std::string& proxy, const std::string& url) {
    return run_command({"/usr/bin/curl", "--silent", "--max-time", "30", "-o", "/dev/null", "-w",
                        "%{http_code}", "-x", proxy, url},
                       60s)
        .out;
}

}  // namespace mproxy::test
