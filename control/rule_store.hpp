#pragma once
// The rules as the control plane edits them: validated, versioned, persisted in the state
// directory (written atomically), then published to the data plane as a new compiled RuleSet.
// Every change holds one mutex from validation to publication, so changes are totally ordered and
// the file and the data plane never disagree.

#include <grpcpp/support/status.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mproxy/v1/rules.pb.h"
#include "proxy/rules/rule_set.hpp"

namespace mproxy::control {

class RuleStore {
public:
    // `file` empty: rules live in memory only (tests, or no state directory). Loads the file when it
    // exists; otherwise starts from `seed` (the config file's rules). Throws std::runtime_error naming
    // the file and the field when the file or the seed is invalid.
    RuleStore(proxy::RuleBook& book, proxy::ConnectAction default_action, std::string file,
              const std::vector<proxy::Rule>& seed = {});

    std::vector<proxy::Rule> list() const;
    std::uint64_t generation() const;
    proxy::ConnectAction default_action() const;

    // Reload (SIGHUP, a changed config file): a new default action for CONNECTs no rule decides.
    void set_default_action(proxy::ConnectAction action);
    // Reload: the rules file as it is on disk now (edited by hand, or a ConfigMap swapped in). Returns
    // false when it holds what is already in force; throws std::runtime_error naming the field when it
    // is invalid, and then nothing changes.
    bool reload_file();

    // Each returns OK or the gRPC status the API documents (INVALID_ARGUMENT naming the field,
    // NOT_FOUND, ALREADY_EXISTS, ABORTED); `out` receives the stored rule.
    grpc::Status get(const std::string& id, proxy::Rule& out) const;
    grpc::Status create(proxy::Rule rule, std::optional<std::size_t> position, proxy::Rule& out);
    grpc::Status update(proxy::Rule rule, std::optional<std::size_t> position, proxy::Rule& out);
    grpc::Status remove(const std::string& id, std::uint64_t expected_version);
    grpc::Status replace(std::vector<proxy::Rule> rules);

    const std::string& file() const { return file_; }

private:
    // Validates the candidate list, persists it, publishes it; on failure nothing changes.
    grpc::Status commit_locked(std::vector<proxy::Rule> next);

    proxy::RuleBook& book_;
    proxy::ConnectAction default_action_;  // guarded by mutex_ after construction
    const std::string file_;
    mutable std::mutex mutex_;
    std::vector<proxy::Rule> rules_;
    std::uint64_t generation_ = 0;
};

}  // namespace mproxy::control
