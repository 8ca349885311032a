// A child process for rule_persistence_test: replaces the rules in <file> through a RuleStore again
// and again, each list longer than the last, until it is killed. The test SIGKILLs it at random
// moments and checks that the file is always whole.

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "control/rule_store.hpp"

namespace {

constexpr std::size_t max_rules = 400;  // then start over small, so every write stays quick

std::vector<mproxy::proxy::Rule> rules_of_length(std::size_t count, std::uint64_t round) {
    std::vector<mproxy::proxy::Rule> rules(count);
    for (std::size_t i = 0; i < count; ++i) {
        auto& rule = rules[i];
        rule.id = "r-" + std::to_string(i);
        // Long enough that a write takes several pages: a torn one would show.
        rule.description = "round " + std::to_string(round) + " " + std::string(200, 'x');
        rule.match.host_suffixes = {"host-" + std::to_string(i) + ".example"};
        rule.match.ports = {
            {static_cast<std::uint16_t>(1 + i), static_cast<std::uint16_t>(1000 + i)}};
        rule.action = i % 2 == 0 ? mproxy::proxy::ConnectAction::tunnel
                                 : mproxy::proxy::ConnectAction::reject;
    }
    return rules;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s RULES_FILE\n", argv[0]);
        return 2;
    }
    try {
        using mproxy::proxy::ConnectAction;
        mproxy::proxy::RuleBook book(
            std::get<0>(mproxy::proxy::RuleSet::compile({}, ConnectAction::tunnel)));
        mproxy::control::RuleStore store(book, ConnectAction::tunnel, argv[1]);
        std::size_t count = store.list().size();
        for (std::uint64_t round = 0;; ++round) {
            count = count >= max_rules ? 1 : count + 1;
            const auto status = store.replace(rules_of_length(count, round));
            if (!status.ok()) {
                std::fprintf(stderr, "replace failed: %s\n", status.error_message().c_str());
                return 1;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rule_writer: %s\n", e.what());
        return 1;
    }
}
