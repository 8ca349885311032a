// `mproxyctl completion bash`: a bash completion script made from the command tree itself, so it
// knows every command and flag there is, and the values of the flags that take a fixed set.

#include <iostream>
#include <sstream>

#include "clients/command_context.hpp"

namespace mproxy::ctl {

namespace {

struct CommandNode {
    std::string path;  // " rules list": the words that lead to it, each after a space
    const CLI::App* app;
};

void collect(const CLI::App& app, const std::string& path, std::vector<CommandNode>& nodes) {
    nodes.push_back({path, &app});
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        collect(*sub, path + " " + sub->get_name(), nodes);
}

std::vector<std::string> flag_names(const CLI::Option& option) {
    std::vector<std::string> names;
    for (const auto& name : option.get_snames()) names.push_back("-" + name);
    for (const auto& name : option.get_lnames()) names.push_back("--" + name);
    return names;
}

// "TEXT:{table,json,yaml}" → "table json yaml"; "" when the values are not a fixed set.
std::string fixed_values(const CLI::Option& option) {
    const auto type = option.get_type_name();
    const auto open = type.find('{');
    const auto close = type.find('}', open);
    if (open == std::string::npos || close == std::string::npos) return "";
    std::string values = type.substr(open + 1, close - open - 1);
    for (auto& c : values)
        if (c == ',') c = ' ';
    return values;
}

bool takes_a_path(const CLI::Option& option) {
    for (const auto& name : option.get_lnames())
        if (name == "file" || name.ends_with("-file") || name == "cert" || name == "key" ||
            name == "cacert" || name.starts_with("client-"))
            return name != "client";
    return false;
}

std::string joined(const std::vector<std::string>& names, const std::string& separator) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : separator) + name;
    return out;
}

// One `case` arm completing the value of `option` of the command at `path` ("*" for anywhere).
void value_arm(std::ostream& out, const std::string& path, const CLI::Option& option) {
    if (!option.nonpositional() || option.get_expected_max() == 0) return;
    const std::string values = fixed_values(option);
    const bool path_value = takes_a_path(option);
    if (values.empty() && !path_value) return;
    std::vector<std::string> patterns;
    for (const auto& name : flag_names(option))
        patterns.push_back(path == "*" ? "*\"|" + name + "\"" : "\"" + path + "|" + name + "\"");
    out << "        " << joined(patterns, "|") << ")\n            COMPREPLY=($(compgen "
        << (path_value ? "-f" : "-W \"" + values + "\"") << " -- \"${cur}\")); return ;;\n";
}

std::string bash_script(const CLI::App& root) {
    std::vector<CommandNode> nodes;
    collect(root, "", nodes);
    std::ostringstream out;
    out << "# bash completion for mproxyctl: eval \"$(mproxyctl completion bash)\", or save it in\n"
           "# /etc/bash_completion.d/mproxyctl\n"
           "_mproxyctl() {\n"
           "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" path=\"\" word i\n"
           "    (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        word=\"${COMP_WORDS[i]}\"\n"
           "        case \"${path} ${word}\" in\n";
    std::vector<std::string> command_paths;
    for (const auto& node : nodes)
        if (!node.path.empty()) command_paths.push_back("\"" + node.path + "\"");
    out << "        " << joined(command_paths, "|") << ") path=\"${path} ${word}\" ;;\n"
        << "        esac\n    done\n    case \"${path}|${prev}\" in\n";
    for (const auto& node : nodes)
        if (!node.path.empty())
            for (const auto* option : node.app->get_options()) value_arm(out, node.path, *option);
    for (const auto* option : root.get_options()) value_arm(out, "*", *option);
    out << "    esac\n    local words=\"\"\n    case \"${path}\" in\n";
    std::vector<std::string> global_flags;
    for (const auto* option : root.get_options())
        for (const auto& name : flag_names(*option)) global_flags.push_back(name);
    for (const auto& node : nodes) {
        std::vector<std::string> words;
        for (const auto* sub : node.app->get_subcommands([](const CLI::App*) { return true; }))
            words.push_back(sub->get_name());
        if (!node.path.empty())
            for (const auto* option : node.app->get_options())
                for (const auto& name : flag_names(*option)) words.push_back(name);
        words.insert(words.end(), global_flags.begin(), global_flags.end());
        out << "        \"" << node.path << "\") words=\"" << joined(words, " ") << "\" ;;\n";
    }
    out << "    esac\n"
           "    COMPREPLY=($(compgen -W \"${words}\" -- \"${cur}\"))\n"
           "}\n"
           "complete -F _mproxyctl mproxyctl\n";
    return out.str();
}

}  // namespace

void add_completion_command(CLI::App& app, CommandContext& context) {
    auto* completion = app.add_subcommand("completion", "Print a shell completion script");
    completion->require_subcommand(1);
    auto* bash = completion->add_subcommand("bash", "Print the bash completion script");
    bash->footer(
        "Examples:\n  eval \"$(mproxyctl completion bash)\"\n  mproxyctl completion bash > "
        "/etc/bash_completion.d/mproxyctl");
    on_run(bash, context, [&app](const CommandContext&) {
        std::cout << bash_script(app);
        return exit_ok;
    });
}

}  // namespace mproxy::ctl
