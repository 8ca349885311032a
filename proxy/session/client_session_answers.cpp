// ClientSession's own answers: the rules on a plain request (a reject answered here), the
// Expect: 100-continue policy, Max-Forwards, mproxy's resources (its CA at mproxy.local), error
// responses, and the gentle close that keeps an answer from being destroyed by a reset.
#include <spdlog/spdlog.h>

#include <array>

#include "proxy/http/hop_by_hop.hpp"
#include "proxy/http1/error_response.hpp"
#include "proxy/http1/max_forwards.hpp"
#include "proxy/session/client_session.hpp"
#include "proxy/session/worker.hpp"
#include "proxy/tls/tls_interception.hpp"

namespace mproxy::proxy {

namespace {
constexpr auto linger_time = std::chrono::seconds(2);
}  // namespace

awaitable<std::optional<bool>> ClientSession::apply_rules_to_request(const RequestHead& request,
                                                                     const Authority& origin,
                                                                     bool has_body) {
    const auto rules = worker_.rules().snapshot();
    options_ = {};
    if (rules->rules().empty())
        co_return std::nullopt;  // the default action says nothing about plain requests
    const auto decision = rules->decide(origin, client_ip_);
    // The default action is what a CONNECT gets; a plain request is only ever refused by a rule.
    if (!decision.rule_index) co_return std::nullopt;
    flow_.decision(origin, decision, request.method);
    options_ = decision.options;
    if (decision.action != ConnectAction::reject) co_return std::nullopt;
    spdlog::info("conn={} {} {} refused by policy ({})", record_->id(), request.method,
                 origin.to_string(), decision.reason);
    worker_.metrics().rejected(decision.rule_id);
    const auto message =
        decision.reject_message.empty()
            ? "request to " + origin.to_string() + " refused by policy (" + decision.reason + ")"
            : decision.reject_message;
    flow_.request_head(request, origin);
    flow_.answered(decision.reject_status, message);
    // A body the client may still be sending is not read: the connection closes after the answer.
    co_return co_await reply_error(decision.reject_status, message, has_body);
}

awaitable<std::optional<bool>> ClientSession::apply_max_forwards(RequestHead& request,
                                                                 bool has_body) {
    if (step_max_forwards(request) != MaxForwardsStep::answer_here) co_return std::nullopt;
    // A body (which OPTIONS may have) is not read: the connection ends after the answer.
    const bool keep_alive = !has_body && keeps_alive(request.fields, request.version_minor);
    const auto answer = final_recipient_answer(request, worker_.config().answer_trace, !keep_alive);
    spdlog::info("conn={} answered {} {} as the final recipient (Max-Forwards: 0)", record_->id(),
                 answer.status, request.method);
    worker_.metrics().answered_locally(answer.status);
    flow_.answered(answer.status, {});
    co_return co_await write_own_answer(answer.bytes, !keep_alive);
}

awaitable<std::optional<bool>> ClientSession::apply_expect_policy(RequestHead& request,
                                                                  bool has_body) {
    if (!has_body || !request.fields.has_token("expect", "100-continue")) co_return std::nullopt;
    if (options_.expect == ExpectPolicy::reject) {
        flow_.answered(417, "Expect: 100-continue refused by rule");
        co_return co_await reply_error(417, "Expect: 100-continue is refused by the rule in force",
                                       true);
    }
    // answer_locally: the client may send its body at once; the origin never sees the expectation.
    request.fields.remove("expect");
    static constexpr std::string_view continue_now = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, n] = co_await client_io_->write(asio::buffer(continue_now));
    if (ec) co_return false;
    co_return std::nullopt;
}

bool ClientSession::is_local_host(const Authority& authority) {
    return authority.host == "mproxy.local";
}

awaitable<bool> ClientSession::serve_local(const RequestHead& request, std::string_view path) {
    if (path != "/ca.pem" || (request.method != "GET" && request.method != "HEAD"))
        co_return co_await reply_error(404, "mproxy serves only GET /ca.pem (its CA certificate)",
                                       false);
    const auto pem = worker_.interception().ca_pem();
    std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\n"
        "Content-Disposition: attachment; filename=\"mproxy-ca.pem\"\r\nContent-Length: " +
        std::to_string(pem.size()) + "\r\nVia: " + std::string(via_value) + "\r\n\r\n";
    if (request.method == "GET") response += pem;
    worker_.metrics().answered_locally(200);
    auto [ec, n] = co_await client_io_->write(asio::buffer(response));
    co_return !ec && keeps_alive(request.fields, request.version_minor);
}

awaitable<bool> ClientSession::reply_error(unsigned status, std::string_view explanation,
                                           bool close) {
    spdlog::info("conn={} answered {}: {}", record_->id(), status, explanation);
    worker_.metrics().answered_locally(status);
    co_return co_await write_own_answer(make_error_response(status, explanation, close), close);
}

awaitable<bool> ClientSession::write_own_answer(const std::string& response, bool close) {
    deadline_.expires_after(worker_.config().idle_timeout);
    auto [ec, n] = co_await client_io_->write(asio::buffer(response));
    if (ec) co_return false;
    if (close) {
        co_await close_gently();
        co_return false;
    }
    co_return true;
}

awaitable<> ClientSession::close_gently() {
    // Closing with unread request bytes would send a reset, which can destroy the response the
    // client has not read yet. Half-close, then read and drop what the client still sends, briefly.
    co_await client_io_->shutdown_send();
    deadline_.expires_after(linger_time);
    std::array<char, 16 * 1024> sink;
    for (;;) {
        // The raw TCP stream, even under TLS: what follows our close_notify needs no decrypting,
        // and the TLS stream reports its end at once once shut down.
        auto [ec, n] = co_await client_.read_some(asio::buffer(sink));
        if (ec) break;
    }
    client_.close();
}

}  // namespace mproxy::proxy
