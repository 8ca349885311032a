#include "control/rule_store.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "control/atomic_file.hpp"
#include "control/rule_translation.hpp"
#include "proxy/state/small_file.hpp"

namespace mproxy::control {

namespace {

constexpr std::size_t max_rules_file_size = 16 * 1024 * 1024;
constexpr mode_t rules_file_mode =
    0600;  // rules name internal hosts and networks: the owner's alone

grpc::Status invalid(std::string message) {
    return {grpc::StatusCode::INVALID_ARGUMENT, std::move(message)};
}

std::string text_of(google::protobuf::StringPiece text) {
    return {text.data(), text.size()};
}

std::vector<proxy::Rule>::const_iterator find_rule(const std::vector<proxy::Rule>& rules,
                                                   const std::string& id) {
    return std::find_if(rules.begin(), rules.end(),
                        [&](const proxy::Rule& rule) { return rule.id == id; });
}

grpc::Status not_found(const std::string& id) {
    return {grpc::StatusCode::NOT_FOUND, "no rule with id \"" + id + "\""};
}

grpc::Status stale(const std::string& id, std::uint64_t read, std::uint64_t now) {
    return {grpc::StatusCode::ABORTED, "rule " + id + " changed since version " +
                                           std::to_string(read) + " was read (now " +
                                           std::to_string(now) + ")"};
}

// "rule-<n>", n past every generated id in `rules` (and past their count), so an id freed by a
// delete is not handed to a different rule at once.
std::string next_rule_id(const std::vector<proxy::Rule>& rules) {
    std::uint64_t next = rules.size() + 1;
    for (const auto& rule : rules) {
        std::string_view id = rule.id;
        if (id.rfind("rule-", 0) != 0) continue;
        id.remove_prefix(5);
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
        if (ec == std::errc{} && end == id.data() + id.size() && n >= next) next = n + 1;
    }
    for (;;) {
        std::string id = "rule-" + std::to_string(next++);
        if (find_rule(rules, id) == rules.end()) return id;
    }
}

// Gives every rule without an id one, unique in the list.
void name_unnamed(std::vector<proxy::Rule>& rules) {
    for (auto& rule : rules)
        if (rule.id.empty()) rule.id = next_rule_id(rules);
}

bool same_rule_apart_from_version(proxy::Rule a, const proxy::Rule& b) {
    a.version = b.version;
    return a == b;
}

std::vector<proxy::Rule> read_rules_file(const std::string& file) {
    std::string text;
    try {
        text = proxy::read_small_file(file, max_rules_file_size);
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("rules file ") + e.what());
    }
    v1::RuleList list;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;  // a misspelt field must not silently widen a rule
    const auto status = google::protobuf::util::JsonStringToMessage(text, &list, options);
    if (!status.ok())
        throw std::runtime_error("rules file " + file +
                                 " is not a valid rule list: " + text_of(status.message()));

    std::vector<proxy::Rule> rules;
    rules.reserve(static_cast<std::size_t>(list.rules_size()));
    for (int i = 0; i < list.rules_size(); ++i) {
        auto rule = rule_from_proto(list.rules(i));
        if (auto* error = std::get_if<FieldError>(&rule))
            throw std::runtime_error("rules file " + file + ": " +
                                     describe_rule_error(static_cast<std::size_t>(i), *error));
        rules.push_back(std::move(std::get<proxy::Rule>(rule)));
    }
    return rules;
}

std::string rules_json(const std::vector<proxy::Rule>& rules) {
    v1::RuleList list;
    for (std::size_t i = 0; i < rules.size(); ++i) *list.add_rules() = rule_to_proto(rules[i], i);
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;              // people read and diff this file
    options.preserve_proto_field_names = true;  // spelt as in rules.proto and the config file
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(list, &json, options);
    if (!status.ok())
        throw std::runtime_error("cannot encode the rules as JSON: " + text_of(status.message()));
    return json;
}

}  // namespace

RuleStore::RuleStore(proxy::RuleBook& book, proxy::ConnectAction default_action, std::string file,
                     const std::vector<proxy::Rule>& seed)
    : book_(book), default_action_(default_action), file_(std::move(file)) {
    std::error_code error;
    if (!file_.empty()) remove_stale_temporaries(file_);  // a writer killed mid-write (never read)
    const bool from_file = !file_.empty() && std::filesystem::exists(file_, error);
    auto rules = from_file ? read_rules_file(file_) : seed;
    const std::string origin =
        from_file ? "rules file " + file_ : std::string("the configured rules");
    name_unnamed(rules);
    for (auto& rule : rules)
        if (rule.version == 0) rule.version = 1;  // hand-written: no version yet

    auto compiled = proxy::RuleSet::compile(rules, default_action_, generation_);
    if (const auto* failure = std::get_if<proxy::RuleError>(&compiled))
        throw std::runtime_error(
            origin + ": " +
            describe_rule_error(failure->index, {failure->field, failure->message}));
    rules_ = std::move(rules);
    book_.publish(std::get<0>(std::move(compiled)));
}

proxy::ConnectAction RuleStore::default_action() const {
    const std::lock_guard lock(mutex_);
    return default_action_;
}

void RuleStore::set_default_action(proxy::ConnectAction action) {
    const std::lock_guard lock(mutex_);
    if (action == default_action_) return;
    auto compiled = proxy::RuleSet::compile(rules_, action, generation_ + 1);
    // The rules in force were valid with any default action.
    default_action_ = action;
    ++generation_;
    book_.publish(std::get<0>(std::move(compiled)));
}

bool RuleStore::reload_file() {
    if (file_.empty() || !std::filesystem::exists(file_)) return false;
    auto rules = read_rules_file(file_);
    name_unnamed(rules);
    for (auto& rule : rules)
        if (rule.version == 0) rule.version = 1;
    const std::lock_guard lock(mutex_);
    if (rules == rules_) return false;  // our own write, or nothing new
    auto compiled = proxy::RuleSet::compile(rules, default_action_, generation_ + 1);
    if (const auto* failure = std::get_if<proxy::RuleError>(&compiled))
        throw std::runtime_error("rules file " + file_ + ": " +
                                 describe_rule_error(failure->index, {failure->field, failure->message}));
    rules_ = std::move(rules);
    ++generation_;
    book_.publish(std::get<0>(std::move(compiled)));
    return true;
}

std::vector<proxy::Rule> RuleStore::list() const {
    const std::lock_guard lock(mutex_);
    return rules_;
}

std::uint64_t RuleStore::generation() const {
    const std::lock_guard lock(mutex_);
    return generation_;
}

grpc::Status RuleStore::get(const std::string& id, proxy::Rule& out) const {
    const std::lock_guard lock(mutex_);
    const auto found = find_rule(rules_, id);
    if (found == rules_.end()) return not_found(id);
    out = *found;
    return grpc::Status::OK;
}

grpc::Status RuleStore::create(proxy::Rule rule, std::optional<std::size_t> position,
                               proxy::Rule& out) {
    const std::lock_guard lock(mutex_);
    if (rule.id.empty()) rule.id = next_rule_id(rules_);
    rule.version = 1;
    if (auto error = proxy::RuleSet::validate(rule))
        return invalid(describe_rule_error({error->field, error->message}));
    if (find_rule(rules_, rule.id) != rules_.end())
        return {grpc::StatusCode::ALREADY_EXISTS,
                "a rule with id \"" + rule.id + "\" already exists"};
    if (position && *position > rules_.size()) {
        return invalid("position: " + std::to_string(*position) + " is past the end of the list (" +
                       std::to_string(rules_.size()) + " rules)");
    }

    auto next = rules_;
    next.insert(next.begin() + static_cast<std::ptrdiff_t>(position.value_or(next.size())), rule);
    auto status = commit_locked(std::move(next));
    if (status.ok()) out = std::move(rule);
    return status;
}

grpc::Status RuleStore::update(proxy::Rule rule, std::optional<std::size_t> position,
                               proxy::Rule& out) {
    const std::lock_guard lock(mutex_);
    if (rule.id.empty()) return invalid("rule.id: the id of the rule to update is required");
    const auto found = find_rule(rules_, rule.id);
    if (found == rules_.end()) return not_found(rule.id);
    if (rule.version != found->version) return stale(rule.id, rule.version, found->version);
    if (position && *position >= rules_.size()) {
        return invalid("position: " + std::to_string(*position) +
                       " is past the end of the list (positions 0.." +
                       std::to_string(rules_.size() - 1) + ")");
    }
    if (auto error = proxy::RuleSet::validate(rule))
        return invalid(describe_rule_error({error->field, error->message}));

    const auto index = static_cast<std::size_t>(found - rules_.begin());
    rule.version = found->version + 1;
    auto next = rules_;
    next.erase(next.begin() + static_cast<std::ptrdiff_t>(index));
    next.insert(next.begin() + static_cast<std::ptrdiff_t>(position.value_or(index)), rule);
    auto status = commit_locked(std::move(next));
    if (status.ok()) out = std::move(rule);
    return status;
}

grpc::Status RuleStore::remove(const std::string& id, std::uint64_t expected_version) {
    const std::lock_guard lock(mutex_);
    const auto found = find_rule(rules_, id);
    if (found == rules_.end()) return not_found(id);
    if (expected_version != 0 && expected_version != found->version)
        return stale(id, expected_version, found->version);
    auto next = rules_;
    next.erase(next.begin() + (found - rules_.begin()));
    return commit_locked(std::move(next));
}

grpc::Status RuleStore::replace(std::vector<proxy::Rule> rules) {
    const std::lock_guard lock(mutex_);
    name_unnamed(rules);
    // A rule that survives keeps its history: its version moves on only when it really changed.
    for (auto& rule : rules) {
        const auto old = find_rule(rules_, rule.id);
        if (old == rules_.end())
            rule.version = 1;
        else
            rule.version =
                same_rule_apart_from_version(rule, *old) ? old->version : old->version + 1;
    }
    return commit_locked(std::move(rules));
}

grpc::Status RuleStore::commit_locked(std::vector<proxy::Rule> next) {
    auto compiled = proxy::RuleSet::compile(next, default_action_, generation_ + 1);
    if (const auto* failure = std::get_if<proxy::RuleError>(&compiled))
        return invalid(describe_rule_error(failure->index, {failure->field, failure->message}));

    // On disk before in force: a change the data plane applied is never lost by a crash, and one
    // that could not be saved is refused rather than applied until the next restart silently undoes
    // it.
    if (!file_.empty()) {
        try {
            const std::filesystem::path path(file_);
            if (path.has_parent_path()) ensure_private_directory(path.parent_path());
            write_file_atomically(path, rules_json(next), rules_file_mode);
        } catch (const std::exception& e) {
            return {grpc::StatusCode::INTERNAL,
                    std::string("cannot save the rules, nothing changed: ") + e.what()};
        }
    }
    rules_ = std::move(next);
    ++generation_;
    book_.publish(std::get<0>(std::move(compiled)));
    return grpc::Status::OK;
}

}  // namespace mproxy::control
