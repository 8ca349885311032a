#include "control/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace mproxy::control {

namespace {

[[noreturn]] void fail(int error, const std::filesystem::path& path, std::string_view action) {
    throw std::system_error(error, std::generic_category(),
                            path.string() + ": " + std::string(action));
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
    const auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

// The temporary file until it takes its real name: closed and unlinked on every early exit, so a
// failed write leaves nothing behind (a SIGKILL can, but only under a hidden name never read back).
class TemporaryFile {
  public:
    explicit TemporaryFile(const std::filesystem::path& target) {
        // Hidden, and never mistaken for the real file. Built by appending: GCC 12 misreports
        // `"literal" + std::string` as an overlapping memcpy (-Wrestrict).
        std::string hidden = ".";
        hidden.append(target.filename().string()).append(".XXXXXX");
        std::string name = (directory_of(target) / hidden).string();
        fd_ = ::mkostemp(name.data(), O_CLOEXEC);
        if (fd_ < 0) fail(errno, target, "cannot create a temporary file next to it");
        path_ = std::move(name);
    }
    ~TemporaryFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!renamed_) ::unlink(path_.c_str());
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    // Close errors after writing can mean lost data (NFS, quota), so they are reported.
    void close() {
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) fail(errno, path_, "cannot close");
    }
    void rename_to(const std::filesystem::path& target) {
        if (::rename(path_.c_str(), target.c_str()) != 0) fail(errno, target, "cannot replace");
        renamed_ = true;
    }

  private:
    int fd_ = -1;
    std::filesystem::path path_;
    bool renamed_ = false;
};

void write_all(int fd, std::string_view content, const std::filesystem::path& path) {
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            fail(errno, path, "cannot write");
        }
        content.remove_prefix(static_cast<std::size_t>(written));
    }
}

// A rename is durable only once the directory holding the new name is flushed.
void sync_directory(const std::filesystem::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(errno, directory, "cannot open the directory to flush it");
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) fail(error, directory, "cannot flush the directory");
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           mode_t mode) {
    TemporaryFile temporary(path);
    // mkostemp made it 0600; the final mode is set before any content exists, so a private file is
    // never readable by others and a public one is not narrowed by the umask.
    if (::fchmod(temporary.fd(), mode) != 0) fail(errno, temporary.path(), "cannot set the mode");
    write_all(temporary.fd(), content, temporary.path());
    if (::fsync(temporary.fd()) != 0) fail(errno, temporary.path(), "cannot flush");
    temporary.close();
    temporary.rename_to(path);
    sync_directory(directory_of(path));
}

std::size_t remove_stale_temporaries(const std::filesystem::path& path) {
    std::string prefix = ".";
    prefix.append(path.filename().string()).append(".");
    std::error_code error;
    std::size_t removed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path.parent_path().empty() ? "." : path.parent_path(), error)) {
        const auto name = entry.path().filename().string();
        // The writer's names: the prefix and mkostemp's six characters.
        if (name.size() == prefix.size() + 6 && name.starts_with(prefix) && std::filesystem::remove(entry.path(), error))
            ++removed;
    }
    return removed;
}

void ensure_private_directory(const std::filesystem::path& directory) {
    std::error_code error;
    if (std::filesystem::is_directory(directory, error)) return;
    if (directory.has_parent_path() && directory.parent_path() != directory) {
        std::filesystem::create_directories(directory.parent_path(), error);
        if (error) fail(error.value(), directory.parent_path(), "cannot create the directory");
    }
    // mkdir's mode is narrowed by the umask; chmod makes it exactly 0700. EEXIST: created
    // meanwhile.
    if (::mkdir(directory.c_str(), 0700) != 0) {
        if (errno == EEXIST && std::filesystem::is_directory(directory, error)) return;
        fail(errno, directory, "cannot create the directory");
    }
    if (::chmod(directory.c_str(), 0700) != 0)
        fail(errno, directory, "cannot set the directory's mode");
}

}  // namespace mproxy::control
