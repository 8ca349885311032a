#pragma once
// Flow ids that stay unique across restarts, so that an id printed yesterday still names the same
// exchange. A run reserves a block of ids at start by writing the block's end (the ceiling) to a
// file of the state directory, before it hands out the first; a clean stop lowers the ceiling to
// the last id used, so ids stay dense. After a crash the next run starts above the whole block: ids
// are skipped, never reused.

#include <cstdint>
#include <filesystem>

namespace mproxy::proxy {

class FlowIdReservation {
  public:
    // Ids a run reserves: at 100,000 exchanges a second, more than 11 hours' worth.
    static constexpr std::uint64_t default_block = std::uint64_t{1} << 32;

    // Reads the ceiling in `file` (0 when there is none) and reserves the block above it. Throws
    // std::runtime_error naming the file when it cannot be read, holds no number, or cannot be
    // written.
    FlowIdReservation(std::filesystem::path file, std::uint64_t block = default_block);

    std::uint64_t first() const { return first_; }
    // A clean stop: the ceiling becomes the last id handed out (first() - 1 when none was).
    void release(std::uint64_t last_used);

  private:
    std::filesystem::path file_;
    std::uint64_t first_ = 1;
};

}  // namespace mproxy::proxy
