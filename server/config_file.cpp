#include "server/config_file.hpp"

#include <google/protobuf/util/json_util.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace mproxy::server {

namespace {

constexpr std::size_t max_config_size = 4 * 1024 * 1024;

// A YAML node as JSON. Plain scalars that read as booleans or numbers become them (protobuf's JSON
// parser takes numbers for numeric fields and true/false for booleans); quoted ones stay strings.
nlohmann::json to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Sequence: {
            auto array = nlohmann::json::array();
            for (const auto& item : node) array.push_back(to_json(item));
            return array;
        }
        case YAML::NodeType::Map: {
            auto object = nlohmann::json::object();
            for (const auto& entry : node)
                object[entry.first.as<std::string>()] = to_json(entry.second);
            return object;
        }
        case YAML::NodeType::Scalar:
            break;
    }
    const auto& text = node.Scalar();
    if (node.Tag() == "!") return text;  // quoted: a string whatever it looks like
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (text == "null" || text == "~") return nullptr;
    std::istringstream number(text);
    double value = 0;
    if (number >> value && number.eof() && std::isfinite(value)) {
        if (value == std::floor(value) && std::abs(value) < 9e15 &&
            text.find_first_of(".eE") == std::string::npos)
            return static_cast<std::int64_t>(value);
        return value;
    }
    return text;
}

std::string read_config_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("config " + path + ": cannot be read");
    std::string text;
    text.resize(max_config_size + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_size)
        throw std::runtime_error("config " + path + ": larger than 4 MiB");
    return text;
}

std::string seconds_text(double seconds) {
    std::ostringstream out;
    out << seconds;
    return out.str();
}

}  // namespace

v1::ServerConfig load_config_file(const std::string& path) {
    const auto text = read_config_text(path);
    std::string json;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
        json =
            text;  // JSON (also YAML, but protobuf's parser reads it directly with exact numbers)
    } else {
        try {
            const auto root = YAML::Load(text);
            if (root.IsNull()) return {};  // an empty file: every default
            if (!root.IsMap())
                throw std::runtime_error("config " + path +
                                         ": expected a map of settings at the top");
            json = to_json(root).dump();
        } catch (const YAML::Exception& e) {
            throw std::runtime_error("config " + path + ": line " +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
        }
    }
    v1::ServerConfig config;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;  // a misspelt key must not be silently ignored
    const auto status = google::protobuf::util::JsonStringToMessage(json, &config, options);
    if (!status.ok()) {
        // Protobuf says "(control) listn: Cannot find field." or "(threads): invalid value ...".
        throw std::runtime_error("config " + path + ": " + std::string(status.message()) +
                                 " (the keys are those of proto/mproxy/v1/config.proto)");
    }
    return config;
}

std::vector<std::string> config_arguments(const v1::ServerConfig& c) {
    std::vector<std::string> args;
    auto text = [&](const char* flag, bool has, const std::string& value) {
        if (has) args.insert(args.end(), {flag, value});
    };
    auto number = [&](const char* flag, bool has, auto value) {
        if (has) args.insert(args.end(), {flag, std::to_string(value)});
    };
    auto seconds = [&](const char* flag, bool has, double value) {
        if (has) args.insert(args.end(), {flag, seconds_text(value)});
    };
    text("--listen", c.has_listen(), c.listen());
    text("--connect-action", c.has_connect_action(), c.connect_action());
    number("--threads", c.has_threads(), c.threads());
    seconds("--connect-timeout", c.has_connect_timeout_seconds(), c.connect_timeout_seconds());
    seconds("--header-timeout", c.has_header_timeout_seconds(), c.header_timeout_seconds());
    seconds("--idle-timeout", c.has_idle_timeout_seconds(), c.idle_timeout_seconds());
    number("--max-header-bytes", c.has_max_header_bytes(), c.max_header_bytes());
    text("--state-dir", c.has_state_dir(), c.state_dir());
    text("--ca-cert", c.has_ca_cert(), c.ca_cert());
    text("--ca-key", c.has_ca_key(), c.ca_key());
    text("--upstream-ca", c.has_upstream_ca(), c.upstream_ca());
    if (c.has_upstream_insecure())
        args.push_back(c.upstream_insecure() ? "--upstream-insecure" : "--upstream-insecure=false");
    number("--leaf-cache-size", c.has_leaf_cache_size(), c.leaf_cache_size());
    number("--flow-log-size", c.has_flow_log_size(), c.flow_log_size());
    text("--log-level", c.has_log_level(), c.log_level());
    text("--log-format", c.has_log_format(), c.log_format());
    seconds("--drain-timeout", c.has_drain_timeout_seconds(), c.drain_timeout_seconds());
    const auto& control = c.control();
    text("--control-listen", control.has_listen(), control.listen());
    text("--control-token-file", control.has_token_file(), control.token_file());
    text("--control-tls-cert", control.has_tls_cert(), control.tls_cert());
    text("--control-tls-key", control.has_tls_key(), control.tls_key());
    text("--control-tls-client-ca", control.has_tls_client_ca(), control.tls_client_ca());
    text("--rules-file", control.has_rules_file(), control.rules_file());
    const auto& metrics = c.metrics();
    text("--metrics-listen", metrics.has_listen(), metrics.listen());
    seconds("--metrics-connection-grace", metrics.has_connection_grace_seconds(),
            metrics.connection_grace_seconds());
    number("--metrics-connection-series-limit", metrics.has_connection_series_limit(),
           metrics.connection_series_limit());
    const auto& capture = c.capture();
    if (capture.has_enabled())
        args.insert(args.end(), {"--capture", capture.enabled() ? "true" : "false"});
    if (capture.has_headers())
        args.insert(args.end(), {"--capture-headers", capture.headers() ? "true" : "false"});
    number("--capture-body-bytes", capture.has_body_bytes(), capture.body_bytes());
    number("--capture-max-bytes", capture.has_max_bytes(), capture.max_bytes());
    seconds("--capture-max-age", capture.has_max_age_seconds(), capture.max_age_seconds());
    const auto& limits = c.limits();
    number("--max-connections", limits.has_max_connections(), limits.max_connections());
    number("--max-connections-per-client", limits.has_max_connections_per_client(),
           limits.max_connections_per_client());
    seconds("--max-connection-lifetime", limits.has_max_connection_lifetime_seconds(),
            limits.max_connection_lifetime_seconds());
    return args;
}

}  // namespace mproxy::server
