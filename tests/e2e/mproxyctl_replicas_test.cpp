// mproxyctl --servers: a command sent to every replica of a fleet, the answers merged and each
// row tagged with its replica; by a list of addresses, or by a DNS name's addresses.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <fstream>
#include <set>

#include "tests/e2e/mproxyctl_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::test {
namespace {

// The same token for every replica, as a fleet sharing a Secret has.
void share_token(const std::filesystem::path& state_dir) {
    std::filesystem::create_directories(state_dir);
    std::ofstream(state_dir / "control-token") << "fleet-token-0123456789abcdef\n";
    std::filesystem::permissions(
        state_dir / "control-token",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(MproxyctlReplicas, ServersListSendsToEveryReplicaAndTagsEachRow) {
    TemporaryDirectory dir("mproxyctl-fleet");
    share_token(dir.path() / "a");
    share_token(dir.path() / "b");
    Mproxyd a(dir.path() / "a");
    Mproxyd b(dir.path() / "b");
    const std::string servers = a.control() + "," + b.control();
    const std::vector<std::string> fleet{"--servers", servers, "--token",
                                         "fleet-token-0123456789abcdef"};
    auto args = [&](std::vector<std::string> command) {
        command.insert(command.end(), fleet.begin(), fleet.end());
        return command;
    };

    const auto added = run_mproxyctl(
        args({"rules", "add", "--id", "everywhere", "--host", "x.example", "--action", "reject"}));
    ASSERT_EQ(added.status, 0) << added.err;
    const auto listed = run_mproxyctl(args({"rules", "list", "-o", "json"}));
    ASSERT_EQ(listed.status, 0) << listed.err;
    const auto rules = json_lines(listed.out);
    ASSERT_EQ(rules.size(), 2u) << listed.out;
    std::set<std::string> replicas;
    for (const auto& rule : rules) {
        EXPECT_EQ(field(rule, "id"), "everywhere");
        replicas.insert(field(rule, "replica"));
    }
    EXPECT_EQ(replicas, (std::set<std::string>{a.control(), b.control()}));

    const auto table = run_mproxyctl(args({"status"}));
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_EQ(table.out.find("REPLICA"), 0u) << table.out;
    EXPECT_NE(table.out.find(a.control()), std::string::npos) << table.out;
    EXPECT_NE(table.out.find(b.control()), std::string::npos) << table.out;

    // One replica gone: the others still answer, the failure is named, the exit code says it.
    b.stop();
    const auto partial = run_mproxyctl(args({"rules", "list", "-o", "json"}));
    EXPECT_EQ(partial.status, 3) << partial.err;
    EXPECT_EQ(json_lines(partial.out).size(), 1u) << partial.out;
    EXPECT_NE(partial.err.find("[" + b.control() + "]"), std::string::npos) << partial.err;
}

// Every address `name` resolves to, as "127.0.0.1" or "::1".
std::vector<std::string> addresses_of(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::vector<std::string> addresses;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0) return addresses;
    for (const addrinfo* entry = found; entry; entry = entry->ai_next) {
        char text[NI_MAXHOST];
        if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof text, nullptr, 0,
                        NI_NUMERICHOST) == 0 &&
            std::find(addresses.begin(), addresses.end(), text) == addresses.end())
            addresses.push_back(text);
    }
    freeaddrinfo(found);
    return addresses;
}

TEST(MproxyctlReplicas, DnsNameReachesAReplicaOnEachAddressItResolvesTo) {
    // A replica on every address of localhost, all on one port: 127.0.0.1 always, ::1 where the
    // name resolves to it too (a headless Service's name resolves to each pod the same way).
    const auto addresses = addresses_of("localhost");
    ASSERT_FALSE(addresses.empty());
    for (const auto& address : addresses) {
        try {
            free_port(address);
        } catch (const std::exception&) {
            GTEST_SKIP() << "localhost resolves to " << address << ", which cannot be bound here";
        }
    }
    const auto port = free_port(addresses.front());
    TemporaryDirectory dir("mproxyctl-dns");
    std::vector<std::unique_ptr<Mproxyd>> replicas;
    std::set<std::string> expected;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const auto& address = addresses[i];
        const bool v6 = address.find(':') != std::string::npos;
        const std::string listen =
            (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
        share_token(dir.path() / std::to_string(i));
        replicas.push_back(std::make_unique<Mproxyd>(dir.path() / std::to_string(i), listen));
        expected.insert(listen);
    }
    const auto result = run_mproxyctl({"status", "-o", "json", "--servers",
                                       "dns:///localhost:" + std::to_string(port), "--token",
                                       "fleet-token-0123456789abcdef"});
    ASSERT_EQ(result.status, 0) << result.err;
    std::set<std::string> answered;
    for (const auto& status : json_lines(result.out)) {
        answered.insert(field(status, "replica"));
        EXPECT_EQ(field(status, "health"), "SERVING");
    }
    EXPECT_EQ(answered, expected) << "localhost resolves to " << addresses.size() << " address(es)";

    const auto unknown =
        run_mproxyctl({"status", "--servers", "dns:///no-such-host.invalid:9090", "--token", "x"});
    EXPECT_EQ(unknown.status, 3) << unknown.err;
    EXPECT_NE(unknown.err.find("no-such-host.invalid"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace mproxy::test
