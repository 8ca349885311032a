#pragma once
// Reloads mproxyd's configuration without dropping a connection: on SIGHUP, and when the config
// file or the rules file changes on disk (a Kubernetes ConfigMap update swaps a symlink: the file's
// content is what is compared, so the swap is seen however it is done). The rules, the default
// CONNECT action, connection limits and logging apply at once; settings that need new listeners
// or threads are reported as waiting for a restart. A file that does not parse or validate is
// refused whole and the running configuration stays.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "control/control_server.hpp"
#include "proxy/proxy_server.hpp"
#include "server/server_options.hpp"

namespace mproxy::server {

class ConfigReloader {
  public:
    // `argc`/`argv` are mproxyd's own: a reload reads them again with the file as it is now.
    ConfigReloader(int argc, char** argv, ServerOptions running, proxy::ProxyServer& proxy,
                   control::ControlServer& control);
    ~ConfigReloader();  // stops watching
    ConfigReloader(const ConfigReloader&) = delete;
    ConfigReloader& operator=(const ConfigReloader&) = delete;

    // Returns true when the new configuration (and rules) were accepted.
    bool reload(std::string_view why);
    // Checks both files every `period` on a thread of its own and reloads when either changed.
    void watch(std::chrono::milliseconds period);
    ServerOptions running() const;

  private:
    std::string files_content() const;
    void apply_restart_only_changes(const ServerOptions& next) const;

    const int argc_;
    char** const argv_;
    proxy::ProxyServer& proxy_;
    control::ControlServer& control_;
    mutable std::mutex mutex_;
    ServerOptions running_;
    std::mutex stop_mutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread watcher_;
};

}  // namespace mproxy::server
