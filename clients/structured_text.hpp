#pragma once
// Messages of the API as text for scripts and files: JSON (the protobuf JSON mapping, one object
// per line) and YAML (the same fields, one document per message), and back from either.

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

namespace mproxy::ctl {

// Text fields put before the message's own (the replica that answered, a health status).
using LeadingFields = std::vector<std::pair<std::string, std::string>>;

// One line of JSON: the leading fields, then the message's.
std::string json_line(const google::protobuf::Message& message, const LeadingFields& leading = {});

// One YAML document, starting with "---": the leading fields, then the message's.
std::string yaml_document(const google::protobuf::Message& message,
                          const LeadingFields& leading = {});

// The documents of a file: YAML (one or several, "---" between them), one JSON value, or JSON
// lines. Throws CliError(exit_invalid_argument) naming `source` and the line when it does not
// parse.
std::vector<YAML::Node> load_documents(const std::string& text, const std::string& source);

// Fills `message` from one document; returns the parser's complaint (naming the field), or "".
std::string message_from_node(const YAML::Node& node, google::protobuf::Message& message);

}  // namespace mproxy::ctl
