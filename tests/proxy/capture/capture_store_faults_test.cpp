// The capture store under the faults a disk brings: a full file system, and the process killed
// while it writes.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "proxy/capture/capture_codec.hpp"
#include "proxy/capture/capture_store.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::proxy {
namespace {

CapturedExchange numbered(std::uint64_t id, std::size_t body) {
    CapturedExchange e;
    e.flow_id = id;
    e.started = std::chrono::system_clock::now();
    e.host = "example.com";
    e.request.method = "GET";
    e.request.target = std::to_string(id);
    e.request.target.insert(0, 1, '/');
    e.request.fields.add("Host", "example.com");
    e.response.status = 200;
    e.response_body.captured = true;
    e.response_body.bytes = std::string(body, 'b');
    e.response_body.length = body;
    return e;
}

// A small tmpfs of its own: a disk that really fills up.
class SmallFileSystem {
  public:
    explicit SmallFileSystem(const std::filesystem::path& at, const char* size) : at_(at) {
        const std::string options = std::string("size=") + size;
        if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0)
            mounted_ = true;
        else
            error_ = std::strerror(errno);
    }
    ~SmallFileSystem() {
        if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }

  private:
    std::filesystem::path at_;
    bool mounted_ = false;
    std::string error_;
};

TEST(CaptureStoreFaults, AFullDiskStopsCapturingUntilSpaceReturns) {
    test::TemporaryDirectory dir;
    SmallFileSystem disk(dir.path(), "4m");
    if (!disk.mounted())
        GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error() << "): needs root";
    CaptureStoreConfig c;
    c.file = dir.path() / "captures.db";
    CaptureStore store(c);
    // Most of the space taken by something else, then captures until the rest is gone.
    const auto filler = dir.path() / "filler";
    std::ofstream(filler) << std::string(3 << 20, 'f');
    std::uint64_t id = 0;
    for (int i = 0; i < 200 && !store.stats().disk_full; ++i) {
        store.submit(capture_record(numbered(++id, 32 * 1024)));
        store.flush();
    }
    auto stats = store.stats();
    ASSERT_TRUE(stats.disk_full) << "a 4 MiB disk never filled";
    EXPECT_GT(stats.dropped_disk_full, 0u);
    EXPECT_GT(stats.stored, 0u);
    const auto stored_before = stats.stored;

    std::filesystem::remove(filler);
    store.submit(capture_record(numbered(++id, 1024)));
    store.flush();
    stats = store.stats();
    EXPECT_FALSE(stats.disk_full) << "capture did not resume with space back";
    EXPECT_EQ(stats.stored, stored_before + 1);
    EXPECT_TRUE(store.get(id));
    EXPECT_TRUE(store.get(1)) << "what was committed before the disk filled is still there";
}

TEST(CaptureStoreFaults, KilledWhileWritingTheStoreOpensWithEveryCommittedExchange) {
    test::TemporaryDirectory dir;
    CaptureStoreConfig c;
    c.file = dir.path() / "captures.db";
    std::uint64_t committed = 0;
    for (int round = 0; round < 4; ++round) {
        int report[2];
        ASSERT_EQ(::pipe(report), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(report[0]);
            CaptureStore store(c);
            for (std::uint64_t id = committed + 1;; ++id) {
                store.submit(capture_record(numbered(id, 2048)));
                if (id % 50 == 0) {
                    store.flush();  // everything up to id is committed: say so
                    if (::write(report[1], &id, sizeof id) != sizeof id) ::_exit(1);
                }
            }
        }
        ::close(report[1]);
        std::uint64_t last = committed;
        // Let it write a while, then kill it in the middle of whatever it is doing.
        for (int reports = 0; reports < 5 + round * 3;) {
            std::uint64_t id = 0;
            if (::read(report[0], &id, sizeof id) != sizeof id) break;
            last = id;
            ++reports;
        }
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ::close(report[0]);
        ASSERT_GT(last, committed) << "round " << round << ": the writer reported nothing";
        committed = last;

        CaptureStore reopened(c);
        EXPECT_TRUE(reopened.moved_aside().empty())
            << "round " << round << ": the store was corrupt";
        EXPECT_GE(reopened.newest_id(), committed);
        for (std::uint64_t id = 1; id <= committed; id += 37)
            ASSERT_TRUE(reopened.get(id))
                << "round " << round << ": committed exchange " << id << " lost";
        ASSERT_TRUE(reopened.get(committed));
        committed = reopened.newest_id();  // the next round goes on above whatever made it in
    }
}

}  // namespace
}  // namespace mproxy::proxy
