#include "proxy/flows/flow_id_reservation.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <system_error>

#include "proxy/state/small_file.hpp"

namespace mproxy::proxy {

namespace {

constexpr std::size_t max_file_bytes = 64;

std::uint64_t read_ceiling(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return 0;
    std::string text;
    try {
        text = read_small_file(file, max_file_bytes);
    } catch (const std::exception& e) {
        throw std::runtime_error("flow id file: " + std::string(e.what()));
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::uint64_t ceiling = 0;
    const auto* end = text.data() + text.size();
    const auto [last, error] = std::from_chars(text.data(), end, ceiling);
    if (text.empty() || error != std::errc() || last != end)
        throw std::runtime_error("flow id file " + file.string() + " holds no number (\"" + text +
                                 "\"); remove it to start ids afresh above the stored history");
    return ceiling;
}

void write_ceiling(const std::filesystem::path& file, std::uint64_t ceiling) {
    try {
        StagedFile staged(file, std::to_string(ceiling) + "\n", 0644);
        staged.commit(StagedFile::Existing::replace);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot reserve flow ids: " + std::string(e.what()));
    }
}

}  // namespace

FlowIdReservation::FlowIdReservation(std::filesystem::path file, std::uint64_t block)
    : file_(std::move(file)) {
    const auto ceiling = read_ceiling(file_);
    if (ceiling > ~std::uint64_t{0} - block)
        throw std::runtime_error("flow id file " + file_.string() + ": ids exhausted");
    write_ceiling(file_, ceiling + block);
    first_ = ceiling + 1;
}

void FlowIdReservation::release(std::uint64_t last_used) {
    write_ceiling(file_, std::max(last_used, first_ - 1));
}

}  // namespace mproxy::proxy
