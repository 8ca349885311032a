#pragma once
// Reading and writing the small files of the state directory (the CA and its key) so that a crash
// or a concurrent reader never sees half a file, and a key file is never readable by others, not
// even for an instant.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace mproxy::proxy {

// The whole of a regular file of at most `limit` bytes. Throws std::system_error naming the file.
std::string read_small_file(const std::filesystem::path& path, std::size_t limit);

// A file written in full to a temporary name in the target's directory, created with `mode`
// (umask does not widen or narrow it) and flushed to disk; it takes its real name on commit(),
// and is removed if never committed. Throws std::system_error naming the file.
class StagedFile {
  public:
    StagedFile(std::filesystem::path target, std::string_view content, mode_t mode);
    ~StagedFile();
    StagedFile(const StagedFile&) = delete;
    StagedFile& operator=(const StagedFile&) = delete;

    enum class Existing { keep, replace };
    // Gives the file its name atomically, then makes the new name durable. With Existing::keep an
    // existing target is left alone and commit() throws (EEXIST), so nothing is ever clobbered.
    void commit(Existing existing);

  private:
    std::filesystem::path target_;
    std::filesystem::path temporary_;
    bool committed_ = false;
};

}  // namespace mproxy::proxy
