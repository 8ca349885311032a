// RulesService: the rule store behind gRPC, and ExplainDecision over the rule set in force.

#include <boost/asio/ip/address.hpp>

#include "control/enum_translation.hpp"
#include "control/rule_translation.hpp"
#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/rules.grpc.pb.h"

namespace mproxy::control {

namespace {

constexpr std::uint32_t default_explain_port = 443;
constexpr std::uint32_t max_port = 65535;

grpc::Status invalid(std::string message) {
    return {grpc::StatusCode::INVALID_ARGUMENT, std::move(message)};
}

v1::RuleSetInfo info_of(const proxy::RuleSet& set) {
    v1::RuleSetInfo info;
    info.set_generation(set.generation());
    info.set_default_action(to_proto(set.default_action()));
    return info;
}

// The rules and generation of one published set, so that a listing is never half of one change
// and half of the next.
void list_rules_in_force(const proxy::RuleBook& book,
                         google::protobuf::RepeatedPtrField<v1::Rule>* rules,
                         v1::RuleSetInfo* info) {
    const auto set = book.snapshot();
    for (std::size_t i = 0; i < set->rules().size(); ++i)
        *rules->Add() = rule_to_proto(set->rules()[i], i);
    *info = info_of(*set);
}

// The order of `id` in the store's list, for answers that return one rule.
std::size_t order_of(const RuleStore& store, const std::string& id) {
    const auto rules = store.list();
    for (std::size_t i = 0; i < rules.size(); ++i)
        if (rules[i].id == id) return i;
    return rules.size();  // removed meanwhile by another call
}

class RulesService final : public v1::RulesService::CallbackService {
  public:
    explicit RulesService(ControlContext& context) : ctx_(context) {}

    grpc::ServerUnaryReactor* ListRules(grpc::CallbackServerContext* context,
                                        const v1::ListRulesRequest*,
                                        v1::ListRulesResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            list_rules_in_force(ctx_.proxy.rules(), response->mutable_rules(),
                                response->mutable_info());
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* GetRule(grpc::CallbackServerContext* context,
                                      const v1::GetRuleRequest* request,
                                      v1::Rule* response) override {
        return unary_call(context, ctx_.auth, [&] {
            if (request->id().empty()) return invalid("id: the id of the rule is required");
            proxy::Rule rule;
            auto status = ctx_.rules.get(request->id(), rule);
            if (status.ok()) *response = rule_to_proto(rule, order_of(ctx_.rules, rule.id));
            return status;
        });
    }

    grpc::ServerUnaryReactor* CreateRule(grpc::CallbackServerContext* context,
                                         const v1::CreateRuleRequest* request,
                                         v1::Rule* response) override {
        return unary_call(context, ctx_.auth, [&] {
            auto translated = rule_from_proto(request->rule());
            if (auto* error = std::get_if<FieldError>(&translated))
                return invalid(describe_rule_error(*error));
            auto& rule = std::get<proxy::Rule>(translated);
            if (request->disabled()) rule.enabled = false;
            std::optional<std::size_t> position;
            if (request->has_position()) position = request->position();
            proxy::Rule stored;
            auto status = ctx_.rules.create(std::move(rule), position, stored);
            if (status.ok()) *response = rule_to_proto(stored, order_of(ctx_.rules, stored.id));
            return status;
        });
    }

    grpc::ServerUnaryReactor* UpdateRule(grpc::CallbackServerContext* context,
                                         const v1::UpdateRuleRequest* request,
                                         v1::Rule* response) override {
        return unary_call(context, ctx_.auth, [&] {
            auto translated = rule_from_proto(request->rule());
            if (auto* error = std::get_if<FieldError>(&translated))
                return invalid(describe_rule_error(*error));
            std::optional<std::size_t> position;
            if (request->has_position()) position = request->position();
            proxy::Rule stored;
            auto status =
                ctx_.rules.update(std::move(std::get<proxy::Rule>(translated)), position, stored);
            if (status.ok()) *response = rule_to_proto(stored, order_of(ctx_.rules, stored.id));
            return status;
        });
    }

    grpc::ServerUnaryReactor* DeleteRule(grpc::CallbackServerContext* context,
                                         const v1::DeleteRuleRequest* request,
                                         v1::DeleteRuleResponse*) override {
        return unary_call(context, ctx_.auth, [&] {
            if (request->id().empty()) return invalid("id: the id of the rule is required");
            return ctx_.rules.remove(request->id(), request->version());
        });
    }

    grpc::ServerUnaryReactor* ReplaceRules(grpc::CallbackServerContext* context,
                                           const v1::ReplaceRulesRequest* request,
                                           v1::ReplaceRulesResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            std::vector<proxy::Rule> rules;
            rules.reserve(static_cast<std::size_t>(request->rules_size()));
            for (int i = 0; i < request->rules_size(); ++i) {
                auto translated = rule_from_proto(request->rules(i));
                if (auto* error = std::get_if<FieldError>(&translated))
                    return invalid(describe_rule_error(static_cast<std::size_t>(i), *error));
                rules.push_back(std::move(std::get<proxy::Rule>(translated)));
            }
            auto status = ctx_.rules.replace(std::move(rules));
            if (status.ok())
                list_rules_in_force(ctx_.proxy.rules(), response->mutable_rules(),
                                    response->mutable_info());
            return status;
        });
    }

    grpc::ServerUnaryReactor* ExplainDecision(grpc::CallbackServerContext* context,
                                              const v1::ExplainDecisionRequest* request,
                                              v1::ExplainDecisionResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            if (request->host().empty()) return invalid("host: a host name or address is required");
            if (request->port() > max_port)
                return invalid("port: " + std::to_string(request->port()) +
                               " is not a port: ports are 1..65535");
            const auto port = request->port() == 0 ? default_explain_port : request->port();
            const std::string client_text =
                request->client().empty() ? "127.0.0.1" : request->client();
            boost::system::error_code ec;
            const auto client = boost::asio::ip::make_address(client_text, ec);
            if (ec)
                return invalid("client: \"" + client_text + "\" is not an IPv4 or IPv6 address");

            // The very evaluation a CONNECT or a request gets, on the set in force right now.
            const auto set = ctx_.proxy.rules().snapshot();
            const auto explanation = set->explain(
                proxy::Authority{request->host(), static_cast<std::uint16_t>(port)}, client);
            const auto& decision = explanation.decision;
            response->set_rule_id(decision.rule_id);
            response->set_action(to_proto(decision.action));
            if (decision.action == proxy::ConnectAction::reject) {
                response->set_reject_status(decision.reject_status);
                response->set_reject_message(decision.reject_message);
            }
            *response->mutable_options() = options_to_proto(decision.options);
            *response->mutable_capture() = capture_to_proto(
                decision.options.capture ? *decision.options.capture : ctx_.proxy.config().capture);
            response->set_reason(decision.reason);
            for (const auto& step : explanation.trace) {
                auto* trace = response->add_trace();
                trace->set_rule_id(step.rule_id);
                trace->set_matched(step.matched);
                trace->set_reason(step.reason);
            }
            response->set_generation(set->generation());
            return grpc::Status::OK;
        });
    }

  private:
    ControlContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_rules_service(ControlContext& context) {
    return std::make_unique<RulesService>(context);
}

}  // namespace mproxy::control
