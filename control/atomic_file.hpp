#pragma once
// Replacing a file so that a reader, or the next start after a crash, sees either the old content
// or the new, never a mix: the state directory's rules and token are written this way.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace mproxy::control {

// Writes `content` to a uniquely named temporary file beside `path` (created with exactly `mode`,
// whatever the umask), flushes it, renames it over `path` and flushes the directory. Throws
// std::system_error naming the path; the temporary file is gone on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           mode_t mode = 0644);

// Removes temporary files a killed writer of `path` left beside it (they are never read back);
// returns how many. Errors are ignored: leftovers cost only disk space.
std::size_t remove_stale_temporaries(const std::filesystem::path& path);

// Creates `directory` (mode 0700) and its parents when missing; an existing one keeps its mode.
// Throws std::system_error naming it.
void ensure_private_directory(const std::filesystem::path& directory);

}  // namespace mproxy::control
