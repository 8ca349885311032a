// mproxyd configured from a file (YAML or JSON, the schema of proto/mproxy/v1/config.proto): the
// file's settings apply and flags win over them; a bad file names the key at fault; a reload (a
// Kubernetes-style symlink swap, or SIGHUP) applies new settings and rules without dropping a
// tunnel or an upload in flight, and a bad new file is refused with the old configuration kept.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "tests/e2e/mproxyd_runner.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/scripted_origin.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string listeners_yaml =
    "listen: 127.0.0.1:0\ncontrol: {listen: 127.0.0.1:0}\nmetrics: {listen: 127.0.0.1:0}\n";

void write_file(const fs::path& path, const std::string& text) {
    const auto temporary = path.string() + ".tmp";
    std::ofstream(temporary) << text;
    fs::rename(temporary, path);  // whole, as a ConfigMap update or an editor's save is
}

// The layout the kubelet gives a mounted ConfigMap: the file is a symlink through "..data", and an
// update points "..data" at a new directory in one rename.
class ConfigMapVolume {
  public:
    explicit ConfigMapVolume(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
    fs::path file() const { return dir_ / "mproxyd.yaml"; }
    void publish(const std::string& text) {
        const auto version = dir_ / (std::string("..v") + std::to_string(++versions_));
        fs::create_directories(version);
        std::ofstream(version / "mproxyd.yaml") << text;
        const auto link = dir_ / "..data_tmp";
        fs::create_directory_symlink(version.filename(), link);
        fs::rename(link, dir_ / "..data");
        if (!fs::is_symlink(file())) fs::create_symlink("..data/mproxyd.yaml", file());
    }

  private:
    fs::path dir_;
    int versions_ = 0;
};

int connect_status(std::uint16_t proxy_port, const std::string& authority) {
    RawHttpClient client(proxy_port);
    std::string connect = "CONNECT ";
    connect.append(authority).append(" HTTP/1.1\r\nHost: ").append(authority).append("\r\n\r\n");
    client.send(connect);
    auto reply = client.read_connect_reply();
    return reply.response ? reply.response->status : -1;
}

TEST(MproxydConfig, TheFilesSettingsApplyAndFlagsWinOverThem) {
    TemporaryDirectory dir("mproxy-e2e-config");
    TestOrigin origin;
    const auto config = dir.path() / "mproxyd.yaml";
    write_file(config, listeners_yaml + "connect_action: reject\nlog_format: json\n");
    {
        RunningMproxyd from_file(
            {"--config", config.string(), "--state-dir", (dir.path() / "a").string()});
        EXPECT_EQ(connect_status(from_file.proxy_port(), origin.authority()), 403);
        EXPECT_NE(from_file.output().find("{\"time\":"), std::string::npos) << "log_format: json";
    }
    RunningMproxyd flag_wins({"--config", config.string(), "--connect-action", "tunnel",
                              "--state-dir", (dir.path() / "b").string()});
    EXPECT_EQ(connect_status(flag_wins.proxy_port(), origin.authority()), 200);
}

TEST(MproxydConfig, AJsonFileWorksTooAndSeedsTheRules) {
    TemporaryDirectory dir("mproxy-e2e-config");
    TestOrigin origin;
    const auto config = dir.path() / "mproxyd.json";
    write_file(config, R"({"listen": "127.0.0.1:0", "control": {"listen": "127.0.0.1:0"},
        "metrics": {"listen": "off"},
        "rules": [{"id": "no-origin", "match": {"hosts": ["127.0.0.1"], "ports": [{"first": )" +
                           std::to_string(origin.port()) + R"(}]}, "action": "ACTION_REJECT",
                   "reject_status": 451, "reject_message": "seeded"}]})");
    RunningMproxyd server(
        {"--config", config.string(), "--state-dir", (dir.path() / "s").string()});
    RawHttpClient client(server.proxy_port());
    client.send(absolute_get(origin.authority(), "/bytes/1"));
    auto reply = client.read_response();
    ASSERT_TRUE(reply.response) << reply.error;
    EXPECT_EQ(reply.response->status, 451);
    EXPECT_NE(reply.response->body.find("seeded"), std::string::npos);
}

TEST(MproxydConfig, ABadFileIsAnErrorNamingTheKey) {
    TemporaryDirectory dir("mproxy-e2e-config");
    const struct {
        std::string text, expected;
    } cases[] = {
        {listeners_yaml + "bogus: 1\n", "bogus: Cannot find field"},
        {listeners_yaml + "limits: {max_conections: 3}\n", "max_conections"},
        {listeners_yaml + "threads: 0\n", "--threads"},
        {listeners_yaml + "threads: many\n", "(threads)"},
        {listeners_yaml + "connect_action: teleport\n", "--connect-action"},
        {listeners_yaml + "listen: [\n", "line"},
        {listeners_yaml + "rules: [{id: x, match: {host_regexes: ['(']}, action: ACTION_MITM}]\n",
         "host_regexes[0]"},
    };
    for (const auto& c : cases) {
        const auto config = dir.path() / "bad.yaml";
        write_file(config, c.text);
        const auto said =
            run_command({"/bin/sh", "-c",
                         std::string("'") + MPROXYD_PATH + "' --config '" + config.string() +
                             "' --control-listen 127.0.0.1:0 --state-dir '" +
                             (dir.path() / "s").string() + "' 2>&1"},
                        20s);
        EXPECT_NE(said.status, 0) << c.text;
        EXPECT_NE(said.out.find(c.expected), std::string::npos) << c.text << "\nsaid: " << said.out;
    }
}

TEST(MproxydConfig, AReloadAppliesNewSettingsAndRulesWithoutDroppingATunnelOrAnUpload) {
    TemporaryDirectory dir("mproxy-e2e-reload");
    TestOrigin origin;
    ScriptedOrigin echo([](BlockingSocket& connection, std::size_t) {
        std::string data;
        while (connection.read_some(data) == ReadStatus::data) {
            connection.send_all(data);
            data.clear();
        }
    });
    ConfigMapVolume volume(dir.path() / "config");
    const auto rules_file = dir.path() / "rules.json";
    volume.publish(listeners_yaml + "connect_action: tunnel\n");
    RunningMproxyd server({"--config", volume.file().string(), "--rules-file", rules_file.string(),
                           "--state-dir", (dir.path() / "state").string()});

    // A tunnel and an upload, both in flight across the reload.
    RawHttpClient tunnel(server.proxy_port());
    tunnel.send("CONNECT " + echo.authority() + " HTTP/1.1\r\nHost: " + echo.authority() +
                "\r\n\r\n");
    auto established = tunnel.read_connect_reply();
    ASSERT_TRUE(established.response && established.response->status == 200) << established.error;
    tunnel.send("before");
    ASSERT_EQ(tunnel.read_raw(6), "before");
    const std::size_t body_size = 4 * 1024 * 1024;
    RawHttpClient upload(server.proxy_port());
    upload.send("POST http://" + origin.authority() +
                "/upload HTTP/1.1\r\nHost: " + origin.authority() +
                "\r\nContent-Length: " + std::to_string(body_size) + "\r\n\r\n");
    upload.send(std::string(body_size / 2, 'u'));

    volume.publish(listeners_yaml + "connect_action: reject\n");
    ASSERT_TRUE(server.wait_for_log("default CONNECT action is now reject")) << server.output();
    EXPECT_EQ(connect_status(server.proxy_port(), echo.authority()), 403)
        << "the new setting applies at once";

    tunnel.send("after");
    EXPECT_EQ(tunnel.read_raw(5), "after") << "the tunnel opened before the reload still relays";
    upload.send(std::string(body_size / 2, 'u'));
    auto uploaded = upload.read_response();
    ASSERT_TRUE(uploaded.response) << uploaded.error;
    EXPECT_EQ(uploaded.response->status, 200);
    EXPECT_EQ(uploaded.response->header("X-Received-Bytes"), std::to_string(body_size));

    // The rules file, changed on disk, applies too.
    write_file(
        rules_file,
        R"({"rules": [{"id": "closed", "match": {"hosts": ["127.0.0.1"]}, "action": "ACTION_REJECT"}]})");
    ASSERT_TRUE(server.wait_for_log("rules reloaded")) << server.output();
    RawHttpClient plain(server.proxy_port());
    plain.send(absolute_get(origin.authority(), "/bytes/1"));
    auto refused = plain.read_response();
    ASSERT_TRUE(refused.response) << refused.error;
    EXPECT_EQ(refused.response->status, 403);
}

TEST(MproxydConfig, ABadNewConfigurationIsRefusedAndTheOldOneKeepsServing) {
    TemporaryDirectory dir("mproxy-e2e-reload");
    TestOrigin origin;
    const auto config = dir.path() / "mproxyd.yaml";
    const auto rules_file = dir.path() / "rules.json";
    write_file(config, listeners_yaml + "connect_action: tunnel\n");
    RunningMproxyd server({"--config", config.string(), "--rules-file", rules_file.string(),
                           "--state-dir", (dir.path() / "s").string()});

    write_file(config, listeners_yaml + "connect_action: reject\nconect_timeout_seconds: 3\n");
    server.process().signal(SIGHUP);
    ASSERT_TRUE(server.wait_for_log("refused, the running configuration stays")) << server.output();
    EXPECT_NE(server.output().find("conect_timeout_seconds"), std::string::npos);
    EXPECT_EQ(connect_status(server.proxy_port(), origin.authority()), 200)
        << "the old configuration still serves";

    write_file(config, listeners_yaml + "connect_action: tunnel\n");  // good again
    server.process().signal(SIGHUP);
    ASSERT_TRUE(server.wait_for_log("configuration reloaded (SIGHUP)")) << server.output();
    write_file(
        rules_file,
        R"({"rules": [{"id": "bad", "match": {"client_cidrs": ["10.0.0.0/99"]}, "action": "ACTION_REJECT"}]})");
    ASSERT_TRUE(server.wait_for_log("client_cidrs[0]")) << server.output();
    EXPECT_NE(server.output().find("rules file " + rules_file.string()), std::string::npos);
    EXPECT_EQ(connect_status(server.proxy_port(), origin.authority()), 200);
}

}  // namespace
}  // namespace mproxy::test
