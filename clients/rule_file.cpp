// Rules from a file: the documents of structured_text, each one rule, a list, or `rules: [...]`.

#include <fstream>
#include <sstream>

#include "clients/cli_error.hpp"
#include "clients/rule_flags.hpp"
#include "clients/structured_text.hpp"

namespace mproxy::ctl {

namespace {

void collect(const YAML::Node& node, std::vector<YAML::Node>& rules) {
    if (node.IsSequence()) {
        for (const auto& entry : node) rules.push_back(entry);
    } else if (node.IsMap() && node["rules"]) {
        collect(node["rules"], rules);
    } else {
        rules.push_back(node);
    }
}

}  // namespace

std::vector<v1::Rule> read_rule_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw CliError(exit_usage, "cannot read the rule file " + path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<YAML::Node> nodes;
    for (const auto& document : load_documents(text.str(), path)) collect(document, nodes);
    if (nodes.empty()) throw CliError(exit_invalid_argument, path + ": holds no rule");
    std::vector<v1::Rule> rules(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i].IsMap())
            throw CliError(exit_invalid_argument,
                           path + ": rules[" + std::to_string(i) + "] is not a map of fields");
        const auto error = message_from_node(nodes[i], rules[i]);
        if (!error.empty())
            throw CliError(exit_invalid_argument,
                           path + ": rules[" + std::to_string(i) + "]: " + error);
    }
    return rules;
}

}  // namespace mproxy::ctl
