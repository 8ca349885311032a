#pragma once
// Where TLS interception's CA comes from and how origins are verified, as plain values. Part of
// ProxyConfig.

#include <cstddef>
#include <string>

namespace mproxy::proxy {

struct InterceptionConfig {
    // The CA comes from ca_cert_file/ca_key_file when both are set, otherwise from state_dir, where
    // it is created on first start.
    std::string state_dir;  // empty: a CA made in memory for this run (tests); mproxyd sets one
    std::string ca_cert_file;
    std::string ca_key_file;
    std::string upstream_ca_file;     // a trust anchor for origins, besides the system store
    bool upstream_insecure = false;   // skip verifying origin certificates
    std::size_t leaf_cache_size = 1024;
};

}  // namespace mproxy::proxy
