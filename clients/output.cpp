#include "clients/output.hpp"

namespace mproxy::ctl {

namespace {

std::vector<std::string> with_replica_column(std::vector<std::string> headers, bool tagged) {
    if (tagged) headers.insert(headers.begin(), "REPLICA");
    return headers;
}

}  // namespace

OutputFormat parse_output_format(const std::string& name) {
    if (name == "json") return OutputFormat::json;
    if (name == "yaml") return OutputFormat::yaml;
    return OutputFormat::table;
}

Printer::Printer(OutputFormat format, bool tagged, std::vector<std::string> headers,
                 std::ostream& out)
    : format_(format),
      tagged_(tagged),
      table_(with_replica_column(std::move(headers), tagged)),
      out_(out) {}

void Printer::row(const std::string& replica, const google::protobuf::Message& message,
                  std::vector<std::string> cells, const LeadingFields& extra) {
    LeadingFields leading;
    if (tagged_) leading.emplace_back("replica", replica);
    leading.insert(leading.end(), extra.begin(), extra.end());
    switch (format_) {
        case OutputFormat::json:
            out_ << json_line(message, leading) << '\n';
            break;
        case OutputFormat::yaml:
            out_ << yaml_document(message, leading);
            break;
        case OutputFormat::table:
            if (tagged_) cells.insert(cells.begin(), replica);
            table_.add_row(std::move(cells));
            break;
    }
}

void Printer::finish() {
    // No rows (nothing listed, or no replica answered): no header either.
    if (format_ == OutputFormat::table && !table_.empty()) table_.render(out_);
    out_.flush();
}

}  // namespace mproxy::ctl
