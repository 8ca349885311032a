// The control token: where it is loaded from, and every RPC refusing a call without it, before the
// call does anything.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "control/auth.hpp"
#include "tests/control/control_fixture.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::test {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// An environment variable of this test alone, unset again at the end.
class ScopedVariable {
  public:
    ScopedVariable(std::string name, const std::string& value) : name_(std::move(name)) {
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ~ScopedVariable() { ::unsetenv(name_.c_str()); }

  private:
    std::string name_;
};

std::string load_error(const control::TokenSettings& settings) {
    try {
        control::load_or_create_token(settings);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "no error";
}

TEST(TokenLoading, FromFileWithTrailingNewlineTrimmed) {
    TemporaryDirectory dir;
    write_text(dir.path() / "token", "abcdefghijklmnop-0123\n\n");
    control::TokenSettings settings;
    settings.token_file = (dir.path() / "token").string();
    settings.state_dir = dir.path().string();
    const auto loaded = control::load_or_create_token(settings);
    EXPECT_EQ(loaded.token, "abcdefghijklmnop-0123");
    EXPECT_EQ(loaded.source, "file " + settings.token_file);
    EXPECT_FALSE(loaded.generated);
    EXPECT_FALSE(fs::exists(dir.path() / "control-token"))
        << "a given file means nothing is generated";
}

TEST(TokenLoading, FileErrorsNameTheFile) {
    TemporaryDirectory dir;
    control::TokenSettings settings;
    settings.token_file = (dir.path() / "short").string();
    write_text(settings.token_file, "tooshort\n");
    auto error = load_error(settings);
    EXPECT_NE(error.find(settings.token_file), std::string::npos) << error;
    EXPECT_NE(error.find("at least 16"), std::string::npos) << error;

    write_text(settings.token_file, " \n\n");
    error = load_error(settings);
    EXPECT_NE(error.find(settings.token_file), std::string::npos) << error;
    EXPECT_NE(error.find("empty"), std::string::npos) << error;

    settings.token_file = (dir.path() / "missing").string();
    error = load_error(settings);
    EXPECT_NE(error.find(settings.token_file), std::string::npos) << error;
}

TEST(TokenLoading, FromEnvironmentWhenNoFile) {
    TemporaryDirectory dir;
    const std::string variable = "MPROXY_TEST_TOKEN_" + std::to_string(::getpid());
    ScopedVariable set(variable, "from-the-environment-42");
    control::TokenSettings settings;
    settings.env_var = variable;
    settings.state_dir = dir.path().string();
    const auto loaded = control::load_or_create_token(settings);
    EXPECT_EQ(loaded.token, "from-the-environment-42");
    EXPECT_EQ(loaded.source, "environment " + variable);
    EXPECT_FALSE(loaded.generated);
}

TEST(TokenLoading, GeneratedIntoTheStateDirectoryPrivatelyAndReused) {
    TemporaryDirectory dir;
    const std::string variable = "MPROXY_TEST_TOKEN_EMPTY_" + std::to_string(::getpid());
    ScopedVariable empty(variable, "");  // set but empty: ignored
    control::TokenSettings settings;
    settings.env_var = variable;
    settings.state_dir = (dir.path() / "state").string();  // created on the way

    const auto first = control::load_or_create_token(settings);
    EXPECT_TRUE(first.generated);
    EXPECT_EQ(first.token.size(), 64u) << "32 random bytes in hex";
    EXPECT_EQ(first.token.find_first_not_of("0123456789abcdef"), std::string::npos);
    const auto file = fs::path(settings.state_dir) / "control-token";
    EXPECT_EQ(first.source, "generated " + file.string());

    struct stat status {};
    ASSERT_EQ(::stat(file.c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 07777, 0600u) << "only the owner may read the token";

    const auto second = control::load_or_create_token(settings);
    EXPECT_EQ(second.token, first.token) << "the second start reuses it";
    EXPECT_FALSE(second.generated);
    EXPECT_EQ(second.source, "file " + file.string());
}

TEST(TokenLoading, MemoryOnlyWithoutStateDirectory) {
    control::TokenSettings settings;
    settings.env_var.clear();
    const auto a = control::load_or_create_token(settings);
    const auto b = control::load_or_create_token(settings);
    EXPECT_EQ(a.source, "generated (memory only)");
    EXPECT_TRUE(a.generated);
    EXPECT_EQ(a.token.size(), 64u);
    EXPECT_NE(a.token, b.token);
}

class ControlAuthTest : public ControlFixture {
  protected:
    // A context with this exact authorization value (none when empty).
    static std::unique_ptr<grpc::ClientContext> with_authorization(const std::string& value) {
        auto context = std::make_unique<grpc::ClientContext>();
        if (!value.empty()) context->AddMetadata("authorization", value);
        context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        return context;
    }

    v1::ListRulesResponse list_rules() {
        v1::ListRulesResponse response;
        const auto status = rules->ListRules(call().get(), {}, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return response;
    }
};

TEST_F(ControlAuthTest, CallsWithoutTheRightTokenAreRefusedAndDoNothing) {
    v1::CreateRuleRequest create;
    create.mutable_rule()->set_id("sneaky");
    create.mutable_rule()->mutable_match()->add_host_globs("*");
    create.mutable_rule()->set_action(v1::ACTION_REJECT);

    struct Case {
        std::string authorization;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"", "missing authorization metadata: send 'authorization: Bearer <token>'"},
        {"Bearer wrong-token-0123456789abcdef", "invalid token"},
        {"Bearer " + std::string(test_token) + "x", "invalid token"},
        {"Bearer " + std::string(test_token).substr(1), "invalid token"},
        {"Basic " + std::string(test_token), "invalid token"},
        {std::string(test_token), "invalid token"},
        {"Bearer", "invalid token"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("authorization: " + c.authorization);
        v1::Rule created;
        auto status =
            rules->CreateRule(with_authorization(c.authorization).get(), create, &created);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        EXPECT_EQ(status.error_message(), c.message);

        v1::ReplaceRulesRequest replace;
        *replace.add_rules() = create.rule();
        v1::ReplaceRulesResponse replaced;
        status = rules->ReplaceRules(with_authorization(c.authorization).get(), replace, &replaced);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

        v1::ListRulesResponse listed;
        status = rules->ListRules(with_authorization(c.authorization).get(), {}, &listed);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        EXPECT_EQ(listed.rules_size(), 0);
    }
    EXPECT_EQ(list_rules().rules_size(), 0) << "no refused call changed anything";
    EXPECT_EQ(list_rules().info().generation(), 0u);
    EXPECT_FALSE(std::filesystem::exists(state_dir() / "rules.json"));

    // The data plane is untouched too: a request the refused rule would have rejected goes through.
    CurlTransfer plain;
    plain.url(origin.url("/say/open"));
    route(plain, ClientRoute::absolute_form);
    ASSERT_EQ(plain.perform(), CURLE_OK) << plain.error_text();
    EXPECT_EQ(plain.response_code(), 200);
}

TEST_F(ControlAuthTest, SchemeIsCaseInsensitive) {
    v1::ListRulesResponse listed;
    for (const auto* scheme : {"Bearer ", "bearer ", "BEARER "}) {
        const auto status = rules->ListRules(
            with_authorization(scheme + std::string(test_token)).get(), {}, &listed);
        EXPECT_TRUE(status.ok()) << scheme << ": " << status.error_message();
    }
}

}  // namespace
}  // namespace mproxy::test
