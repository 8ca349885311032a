// mproxyd with TLS interception, as a process: the CA it creates on first start, the CA it refuses,
// and the curl command line trusting only that CA.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/e2e/child_process.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
const std::string mproxyd = MPROXYD_PATH;

fs::path fresh_dir() {
    char name[] = "/tmp/mproxy-e2e-state-XXXXXX";
    if (!mkdtemp(name)) throw std::runtime_error("mkdtemp failed");
    return fs::path(name) / "state";  // mproxyd creates this one itself
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string listening_port(ChildProcess& process) {
    if (!process.wait_for_output("listening on", 20s)) throw std::runtime_error("mproxyd did not start: " + process.output());
    std::smatch m;
    const auto out = process.output();
    if (!std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"))) throw std::runtime_error(out);
    return m[1];
}

TEST(MproxydMitm, FirstStartCreatesThePrivateCaAndCurlTrustsOnlyIt) {
    TestPki pki;
    TlsOrigin origin(pki.localhost());
    const auto state = fresh_dir();
    ChildProcess server({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--connect-action", "mitm", "--state-dir", state.string(),
                         "--upstream-ca", pki.ca_file()});
    const auto port = listening_port(server);

    struct stat key_stat {};
    ASSERT_EQ(::stat((state / "ca-key.pem").c_str(), &key_stat), 0);
    EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
    EXPECT_NE(server.output().find((state / "ca.pem").string()), std::string::npos) << "the CA path is printed";

    // The CA as users fetch it, through the proxy.
    const auto ca_file = (state.parent_path() / "downloaded-ca.pem").string();
    const auto download = run_command({"/usr/bin/curl", "-sS", "-x", "127.0.0.1:" + port, "-o", ca_file,
                                       "http://mproxy.local/ca.pem"},
                                      30s);
    ASSERT_EQ(download.status, 0) << download.out;
    EXPECT_EQ(read_file(ca_file), read_file(state / "ca.pem"));

    const auto got = run_command({"/usr/bin/curl", "-sS", "-v", "--cacert", ca_file, "-x", "127.0.0.1:" + port,
                                  origin.url("/bytes/1000"), "-o", "/dev/null", "-w", "%{http_code}"},
                                 30s);
    EXPECT_EQ(got.status, 0) << got.out;
    EXPECT_NE(got.out.find("200"), std::string::npos) << got.out;
    EXPECT_NE(got.out.find("issuer: O=mproxy; CN=mproxy CA"), std::string::npos) << got.out;

    server.signal(SIGTERM);
    ASSERT_TRUE(server.wait(10s).has_value());

    // A second start loads the same CA rather than making a new one.
    const auto before = read_file(state / "ca.pem");
    ChildProcess again({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--state-dir", state.string()});
    listening_port(again);
    EXPECT_EQ(read_file(state / "ca.pem"), before);
    fs::remove_all(state.parent_path());
}

TEST(MproxydMitm, CorruptCaIsAClearErrorAndNothingIsOverwritten) {
    const auto state = fresh_dir();
    {
        ChildProcess first({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--state-dir", state.string()});
        listening_port(first);
    }
    std::ofstream(state / "ca.pem", std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n";
    const auto corrupt = read_file(state / "ca.pem");
    const auto key = read_file(state / "ca-key.pem");

    ChildProcess child({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--state-dir", state.string()});
    const auto status = child.wait(10s);
    ASSERT_TRUE(status.has_value()) << "mproxyd started with a corrupt CA";
    EXPECT_EQ(*status, 1);
    EXPECT_NE(child.output().find("ca.pem"), std::string::npos) << child.output();
    EXPECT_EQ(read_file(state / "ca.pem"), corrupt);
    EXPECT_EQ(read_file(state / "ca-key.pem"), key);
    fs::remove_all(state.parent_path());
}

TEST(MproxydMitm, OriginFailingVerificationIs502NamingTheReason) {
    TestPki pki;
    TlsOrigin expired(pki.expired());
    const auto state = fresh_dir();
    ChildProcess server({mproxyd, "--listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--connect-action", "mitm", "--state-dir", state.string(),
                         "--upstream-ca", pki.ca_file()});
    const auto port = listening_port(server);
    const auto got = run_command({"/usr/bin/curl", "-sS", "--cacert", (state / "ca.pem").string(), "-x",
                                  "127.0.0.1:" + port, expired.url("/bytes/10"), "-w", " %{http_code}"},
                                 30s);
    EXPECT_NE(got.out.find("expired"), std::string::npos) << got.out;
    EXPECT_NE(got.out.find(" 502"), std::string::npos) << got.out;
    fs::remove_all(state.parent_path());
}

}  // namespace
}  // namespace mproxy::test
