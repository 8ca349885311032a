#include "proxy/state/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

namespace mproxy::proxy {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view action) {
    throw std::system_error(errno, std::generic_category(),
                            path.string() + ": " + std::string(action));
}

// Closes on scope exit; close errors matter only after writing, where they are checked explicitly.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

std::filesystem::path directory_of(const std::filesystem::path& path) {
    const auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

void write_all(int fd, std::string_view content, const std::filesystem::path& path) {
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            fail(path, "cannot write");
        }
        content.remove_prefix(static_cast<std::size_t>(written));
    }
}

// A rename or link is durable only once the directory holding it is flushed.
void sync_directory(const std::filesystem::path& directory) {
    const FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) fail(directory, "cannot flush the directory");
}

}  // namespace

std::string read_small_file(const std::filesystem::path& path, std::size_t limit) {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) fail(path, "cannot open");
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) fail(path, "cannot stat");
    if (!S_ISREG(status.st_mode)) {
        errno = EINVAL;
        fail(path, "not a regular file");
    }
    if (static_cast<std::size_t>(status.st_size) > limit) {
        errno = EFBIG;
        fail(path, "larger than " + std::to_string(limit) + " bytes");
    }
    std::string content;
    std::array<char, 4096> buffer;
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            fail(path, "cannot read");
        }
        if (got == 0) return content;
        content.append(buffer.data(), static_cast<std::size_t>(got));
        if (content.size() > limit) {
            errno = EFBIG;
            fail(path, "larger than " + std::to_string(limit) + " bytes");
        }
    }
}

StagedFile::StagedFile(std::filesystem::path target, std::string_view content, mode_t mode)
    : target_(std::move(target)) {
    // mkstemp creates the file 0600 whatever the umask, so a key is private from the first byte;
    // a looser mode is applied before any content is written.
    std::string temporary_name = ".";  // hidden, and never mistaken for the real file
    temporary_name.append(target_.filename().string()).append(".XXXXXX");
    std::string name = (directory_of(target_) / temporary_name).string();
    FileDescriptor fd(::mkstemp(name.data()));
    if (fd.get() < 0) fail(target_, "cannot create a temporary file next to it");
    temporary_ = name;
    if (::fchmod(fd.get(), mode) != 0) fail(temporary_, "cannot set the mode");
    write_all(fd.get(), content, temporary_);
    if (::fsync(fd.get()) != 0) fail(temporary_, "cannot flush");
    if (::close(fd.release()) != 0) fail(temporary_, "cannot close");
}

StagedFile::~StagedFile() {
    if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

void StagedFile::commit(Existing existing) {
    if (existing == Existing::replace) {
        if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail(target_, "cannot replace");
    } else {
        // link() fails with EEXIST instead of replacing, which rename() cannot do portably.
        if (::link(temporary_.c_str(), target_.c_str()) != 0) fail(target_, "cannot create");
        ::unlink(temporary_.c_str());
    }
    committed_ = true;
    sync_directory(directory_of(target_));
}

}  // namespace mproxy::proxy
