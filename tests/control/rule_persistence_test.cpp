// Rules on disk: they survive a restart in order with their versions, a bad file is refused naming
// the file and the field, and a writer killed at any moment never leaves a torn file.

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "control/atomic_file.hpp"
#include "control/rule_store.hpp"
#include "tests/control/control_fixture.hpp"
#include "tests/control/rules_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

extern char** environ;

namespace mproxy::test {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

proxy::RuleBook empty_book() {
    return proxy::RuleBook(std::get<0>(proxy::RuleSet::compile({}, proxy::ConnectAction::tunnel)));
}

// What constructing a RuleStore on `file` throws, or "no error".
std::string load_error(const fs::path& file) {
    auto book = empty_book();
    try {
        control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string());
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "no error";
}

v1::Rule suffix_rule(const std::string& id, const std::string& suffix, v1::Action action) {
    v1::Rule rule;
    rule.set_id(id);
    rule.set_enabled(true);
    rule.mutable_match()->add_host_suffixes(suffix);
    rule.set_action(action);
    return rule;
}

// The RulesService fixture's calls, and a create that must succeed.
class RulePersistenceTest : public RulesServiceTest {
  protected:
    void must_create(const v1::Rule& rule) {
        const auto status = create(rule);
        ASSERT_TRUE(status.ok()) << status.error_message();
    }
};

TEST_F(RulePersistenceTest, RulesComeBackAfterRestartInOrderWithVersions) {
    must_create(suffix_rule("internal", "corp.example", v1::ACTION_MITM));
    auto blocked = suffix_rule("blocked", "ads.example", v1::ACTION_REJECT);
    blocked.set_reject_status(451);
    blocked.set_reject_message("not here");
    blocked.mutable_match()->add_ports()->set_first(443);
    blocked.mutable_match()->add_client_cidrs("10.0.0.0/8");
    must_create(blocked);
    auto cleartext = suffix_rule("cleartext", "plain.example", v1::ACTION_HTTP);
    cleartext.mutable_options()->set_expect(v1::EXPECT_POLICY_ANSWER_LOCALLY);
    cleartext.mutable_options()->set_upstream_insecure(true);
    must_create(cleartext);

    // Bump one version twice and move it to the front.
    v1::GetRuleRequest get;
    get.set_id("cleartext");
    v1::Rule stored;
    ASSERT_TRUE(rules->GetRule(call().get(), get, &stored).ok());
    for (int i = 0; i < 2; ++i) {
        v1::UpdateRuleRequest update;
        *update.mutable_rule() = stored;
        update.mutable_rule()->set_description("edit " + std::to_string(i));
        update.set_position(0);
        ASSERT_TRUE(rules->UpdateRule(call().get(), update, &stored).ok());
    }
    EXPECT_EQ(stored.version(), 3u);

    const auto before = list_rules();
    ASSERT_EQ(before.rules_size(), 3);
    restart();
    const auto after = list_rules();

    ASSERT_EQ(after.rules_size(), 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(
            google::protobuf::util::MessageDifferencer::Equals(before.rules(i), after.rules(i)))
            << "before: " << before.rules(i).ShortDebugString()
            << "\nafter: " << after.rules(i).ShortDebugString();
    }
    EXPECT_EQ(after.rules(0).id(), "cleartext");
    EXPECT_EQ(after.rules(0).version(), 3u);
    EXPECT_EQ(after.info().generation(), 0u) << "the generation counts changes since this start";

    // The data plane has them too: the reloaded reject rule, for clients in 10.0.0.0/8, decides for
    // one.
    v1::ExplainDecisionRequest explain;
    explain.set_host("www.ads.example");
    explain.set_port(443);
    explain.set_client("10.9.9.9");
    v1::ExplainDecisionResponse answer;
    ASSERT_TRUE(rules->ExplainDecision(call().get(), explain, &answer).ok());
    EXPECT_EQ(answer.rule_id(), "blocked");
    EXPECT_EQ(answer.reject_status(), 451u);
}

TEST_F(RulePersistenceTest, RuleReloadedAfterRestartRejectsRealTraffic) {
    auto reject = suffix_rule("no-loopback", "127.0.0.1", v1::ACTION_REJECT);
    reject.mutable_match()->clear_host_suffixes();
    reject.mutable_match()->add_hosts("127.0.0.1");
    must_create(reject);
    restart();

    CurlTransfer plain;
    plain.url(origin.url("/say/x"));
    route(plain, ClientRoute::absolute_form);
    ASSERT_EQ(plain.perform(), CURLE_OK) << plain.error_text();
    EXPECT_EQ(plain.response_code(), 403);
}

TEST_F(RulePersistenceTest, FileIsPrivatePrettyJsonOfARuleList) {
    must_create(suffix_rule("one", "one.example", v1::ACTION_TUNNEL));
    const auto file = state_dir() / "rules.json";
    struct stat status {};
    ASSERT_EQ(::stat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u);

    const auto text = read_file(file);
    EXPECT_NE(text.find('\n'), std::string::npos) << "pretty-printed for people and diffs";
    v1::RuleList list;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &list, options).ok()) << text;
    ASSERT_EQ(list.rules_size(), 1);
    EXPECT_EQ(list.rules(0).id(), "one");
    EXPECT_EQ(list.rules(0).version(), 1u);
    EXPECT_EQ(list.rules(0).action(), v1::ACTION_TUNNEL);
}

TEST(RuleStoreLoading, BadFilesAreRefusedNamingTheFileAndTheField) {
    TemporaryDirectory dir;
    const auto file = dir.path() / "rules.json";

    write_text(file, "{\"rules\": [ {\"id\": \"a\", ");  // torn
    auto error = load_error(file);
    EXPECT_NE(error.find(file.string()), std::string::npos) << error;

    write_text(
        file,
        R"({"rules": [{"id": "a", "match": {"hosts": ["x"]}, "action": "ACTION_TUNNEL", "colour": 1}]})");
    error = load_error(file);
    EXPECT_NE(error.find(file.string()), std::string::npos) << error;
    EXPECT_NE(error.find("colour"), std::string::npos)
        << "unknown fields are not ignored: " << error;

    write_text(file,
               R"({"rules": [{"id": "a", "match": {"hosts": ["x"]}, "action": "ACTION_TUNNEL"},
                                   {"id": "b", "match": {"host_regexes": ["("]}, "action": "ACTION_TUNNEL"}]})");
    error = load_error(file);
    EXPECT_NE(error.find(file.string()), std::string::npos) << error;
    EXPECT_NE(error.find("rules[1].match.host_regexes[0]"), std::string::npos) << error;

    write_text(file, R"({"rules": [{"id": "a", "match": {"hosts": ["x"]}}]})");
    error = load_error(file);
    EXPECT_NE(error.find("rules[0].action"), std::string::npos) << error;

    // A hand-written file without versions loads, each rule at version 1.
    write_text(
        file,
        R"({"rules": [{"id": "a", "enabled": true, "match": {"hosts": ["x"]}, "action": "ACTION_HTTP"}]})");
    auto book = empty_book();
    control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string());
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.list()[0].version, 1u);
    EXPECT_EQ(book.snapshot()->rules().size(), 1u) << "published at once";
}

TEST(RuleStoreLoading, SeedIsUsedOnlyWithoutAFile) {
    TemporaryDirectory dir;
    const auto file = dir.path() / "rules.json";
    proxy::Rule seed;
    seed.id = "seeded";
    seed.match.hosts = {"seed.example"};
    {
        auto book = empty_book();
        control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string(), {seed});
        ASSERT_EQ(book.snapshot()->rules().size(), 1u);
        proxy::Rule replacement = seed;
        replacement.id = "from-api";
        ASSERT_TRUE(store.replace({replacement}).ok());
    }
    auto book = empty_book();
    control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string(), {seed});
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.list()[0].id, "from-api") << "the saved file wins over the seed";

    proxy::Rule bad = seed;
    bad.match.client_cidrs = {"300.0.0.0/8"};
    auto other_book = empty_book();
    EXPECT_THROW({ control::RuleStore store(other_book, proxy::ConnectAction::tunnel, "", {bad}); },
                 std::runtime_error);
}

TEST(AtomicFile, WritesWithTheModeAndReplaces) {
    TemporaryDirectory dir;
    const auto file = dir.path() / "data";
    control::write_file_atomically(file, "first", 0640);
    EXPECT_EQ(read_file(file), "first");
    struct stat status {};
    ASSERT_EQ(::stat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0640u);
    control::write_file_atomically(file, "second, longer", 0600);
    EXPECT_EQ(read_file(file), "second, longer");
    ASSERT_EQ(::stat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}), 1)
        << "no temporary left";
}

TEST(AtomicFile, FailureNamesThePathAndLeavesNoTemporary) {
    TemporaryDirectory dir;
    const auto target = dir.path() / "occupied";
    fs::create_directory(target);  // rename() cannot replace a directory with a file
    try {
        control::write_file_atomically(target, "content");
        FAIL() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}), 1)
        << "no temporary left";

    const auto missing_dir = dir.path() / "nowhere" / "file";
    EXPECT_THROW(control::write_file_atomically(missing_dir, "content"), std::system_error);
}

// The writer process runs RuleStore::replace in a loop and is SIGKILLed at random moments: after
// each kill the file is absent (not yet written) or a whole rule list that a RuleStore loads.
TEST(RuleFileCrash, KilledWriterNeverLeavesATornFile) {
    TemporaryDirectory dir;
    const auto file = dir.path() / "rules.json";
    std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pause_ms(5, 50);
    constexpr int iterations = 20;
    int kills_with_file = 0;

    for (int i = 0; i <= iterations; ++i) {
        const std::string program = RULE_WRITER_PATH;
        const std::string file_argument = file.string();
        std::vector<char*> argv = {const_cast<char*>(program.c_str()),
                                   const_cast<char*>(file_argument.c_str()), nullptr};
        pid_t child = 0;
        ASSERT_EQ(::posix_spawn(&child, program.c_str(), nullptr, nullptr, argv.data(), environ), 0)
            << program;

        if (i == iterations) {
            // The last round waits for the file to exist first, so at least one kill lands on a
            // writer that has written (the earlier ones may all come before its first write).
            const auto deadline = step_deadline();
            while (!fs::exists(file) && Clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        // Not a synchronisation: the point is to kill at an arbitrary moment.
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
        ASSERT_EQ(::kill(child, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the writer ended on its own (status " << status << "): it failed before the kill";

        if (!fs::exists(file)) continue;
        ++kills_with_file;
        const auto text = read_file(file);
        v1::RuleList list;
        google::protobuf::util::JsonParseOptions options;
        options.ignore_unknown_fields = false;
        const auto parsed = google::protobuf::util::JsonStringToMessage(text, &list, options);
        ASSERT_TRUE(parsed.ok()) << "kill " << i << ": torn file (" << text.size()
                                 << " bytes): " << parsed.ToString();
        ASSERT_GE(list.rules_size(), 1);
        auto book = empty_book();
        std::size_t loaded = 0;
        ASSERT_NO_THROW({
            control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string());
            loaded = store.list().size();
        }) << "kill "
           << i;
        EXPECT_EQ(loaded, static_cast<std::size_t>(list.rules_size()));
    }
    EXPECT_GE(kills_with_file, 1);
}

}  // namespace
}  // namespace mproxy::test

namespace mproxy::test {
namespace {

TEST(RuleStoreLoading, TemporariesOfAKilledWriterAreRemovedAndOthersKept) {
    TemporaryDirectory dir;
    const auto file = dir.path() / "rules.json";
    write_text(dir.path() / ".rules.json.Ab3dEf", "{\"rules\": [ {\"id\"");  // a writer died here
    write_text(dir.path() / ".rules.json.keep-me-please", "not ours");
    write_text(dir.path() / "ca.pem", "not ours either");
    auto book = empty_book();
    control::RuleStore store(book, proxy::ConnectAction::tunnel, file.string());
    EXPECT_FALSE(std::filesystem::exists(dir.path() / ".rules.json.Ab3dEf"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / ".rules.json.keep-me-please"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "ca.pem"));
}

}  // namespace
}  // namespace mproxy::test
