#pragma once
// Where a command's answers go: `-o table` (aligned columns for people, written when complete),
// `-o json` (one object per line, written as it comes) or `-o yaml` (one document per answer).

#include <google/protobuf/message.h>

#include <iostream>
#include <string>
#include <vector>

#include "clients/structured_text.hpp"
#include "clients/table.hpp"

namespace mproxy::ctl {

enum class OutputFormat { table, json, yaml };

OutputFormat parse_output_format(const std::string& name);  // "table", "json", "yaml"

class Printer {
  public:
    // With `tagged`, each row names its replica (a REPLICA column, a "replica" field).
    Printer(OutputFormat format, bool tagged, std::vector<std::string> headers,
            std::ostream& out = std::cout);

    // One answer: the message (after `extra` fields) for JSON and YAML, its cells (without the
    // replica) for the table.
    void row(const std::string& replica, const google::protobuf::Message& message,
             std::vector<std::string> cells, const LeadingFields& extra = {});
    // Writes the table, if it has rows; JSON and YAML are already out.
    void finish();

  private:
    OutputFormat format_;
    bool tagged_;
    Table table_;
    std::ostream& out_;
};

}  // namespace mproxy::ctl
