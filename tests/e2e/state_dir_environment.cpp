// Every mproxyd these tests start without --state-dir keeps its CA in a directory of this test
// process's own ($XDG_STATE_HOME), never in the working directory that parallel tests share.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace {

class StateDirEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        char name[] = "/tmp/mproxy-e2e-xdg-XXXXXX";
        if (!mkdtemp(name)) FAIL() << "mkdtemp failed";
        dir_ = name;
        setenv("XDG_STATE_HOME", dir_.c_str(), 1);
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

private:
    std::string dir_;
};

[[maybe_unused]] const auto* registered = ::testing::AddGlobalTestEnvironment(new StateDirEnvironment);

}  // namespace
