#include "clients/table.hpp"

#include <algorithm>

namespace mproxy::ctl {

namespace {

constexpr std::size_t column_gap = 2;

// Display width: UTF-8 continuation bytes take no column.
std::size_t width(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(
        text.begin(), text.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

void write_row(std::ostream& out, const std::vector<std::string>& cells,
               const std::vector<std::size_t>& widths) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        line += cells[i];
        if (i + 1 < cells.size()) line.append(widths[i] - width(cells[i]) + column_gap, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // an empty last column leaves no trailing blanks
    out << line << '\n';
}

}  // namespace

void Table::render(std::ostream& out) const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = width(headers_[i]);
    for (const auto& row : rows_)
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], width(row[i]));
    write_row(out, headers_, widths);
    for (const auto& row : rows_) write_row(out, row, widths);
}

}  // namespace mproxy::ctl
