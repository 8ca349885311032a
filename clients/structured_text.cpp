#include "clients/structured_text.hpp"

#include <google/protobuf/util/json_util.h>

#include <regex>
#include <sstream>

#include "clients/cli_error.hpp"

namespace mproxy::ctl {

namespace {

std::string to_json(const google::protobuf::Message& message) {
    google::protobuf::util::JsonPrintOptions options;
    // Scripts find every field, zero counts included.
    options.always_print_primitive_fields = true;
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(message, &json, options);
    return json;
}

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// A plain YAML scalar as the JSON value it means: numbers and booleans unquoted, the rest strings.
std::string scalar_to_json(const YAML::Node& node) {
    static const std::regex number("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") return quoted(text);  // it was quoted in the file
    if (text == "true" || text == "false") return text;
    if (text == "null" || text == "~") return "null";
    if (std::regex_match(text, number)) return text;
    return quoted(text);
}

std::string node_to_json(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: {
            std::string out = "{";
            for (const auto& entry : node) {
                if (out.size() > 1) out += ',';
                out += quoted(entry.first.Scalar());
                out += ':';
                out += node_to_json(entry.second);
            }
            return out + "}";
        }
        case YAML::NodeType::Sequence: {
            std::string out = "[";
            for (const auto& entry : node) {
                if (out.size() > 1) out += ',';
                out += node_to_json(entry);
            }
            return out + "]";
        }
        case YAML::NodeType::Scalar:
            return scalar_to_json(node);
        default:
            return "null";
    }
}

bool is_json_lines(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    int objects = 0;
    while (std::getline(lines, line)) {
        const auto start = line.find_first_not_of(" \t\r");
        if (start == std::string::npos) continue;
        if (line[start] != '{') return false;
        ++objects;
    }
    return objects > 1;
}

YAML::Node load_one(const std::string& text, const std::string& source) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw CliError(exit_invalid_argument,
                       source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

// Read from JSON, every map and list is in flow style ({...}, [...]); people read blocks better.
// Empty ones stay as they are: `[]` says more than nothing.
void in_block_style(YAML::Node node) {
    if (!node.IsMap() && !node.IsSequence()) return;
    if (node.size() > 0) node.SetStyle(YAML::EmitterStyle::Block);
    for (auto entry : node) {
        if (node.IsMap())
            in_block_style(entry.second);
        else
            in_block_style(entry);
    }
}

}  // namespace

std::string json_line(const google::protobuf::Message& message, const LeadingFields& leading) {
    std::string json = to_json(message);
    if (leading.empty()) return json;
    std::string out = "{";
    for (const auto& [key, value] : leading) {
        if (out.size() > 1) out += ',';
        out += quoted(key) + ":" + quoted(value);
    }
    return json == "{}" ? out + "}" : out + "," + json.substr(1);
}

std::string yaml_document(const google::protobuf::Message& message, const LeadingFields& leading) {
    const YAML::Node fields = YAML::Load(to_json(message));
    in_block_style(fields);
    YAML::Emitter out;
    out << YAML::BeginMap;
    for (const auto& [key, value] : leading) out << YAML::Key << key << YAML::Value << value;
    for (const auto& entry : fields) out << YAML::Key << entry.first << YAML::Value << entry.second;
    out << YAML::EndMap;
    return std::string("---\n") + out.c_str() + "\n";
}

std::vector<YAML::Node> load_documents(const std::string& text, const std::string& source) {
    std::vector<YAML::Node> documents;
    if (is_json_lines(text)) {
        std::istringstream lines(text);
        std::string line;
        for (int number = 1; std::getline(lines, line); ++number) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            documents.push_back(load_one(line, source + ": line " + std::to_string(number)));
        }
        return documents;
    }
    try {
        for (auto& document : YAML::LoadAll(text))
            if (!document.IsNull()) documents.push_back(document);
    } catch (const YAML::Exception& e) {
        throw CliError(exit_invalid_argument,
                       source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return documents;
}

std::string message_from_node(const YAML::Node& node, google::protobuf::Message& message) {
    const auto status = google::protobuf::util::JsonStringToMessage(node_to_json(node), &message);
    return status.ok() ? std::string() : std::string(status.message());
}

}  // namespace mproxy::ctl
