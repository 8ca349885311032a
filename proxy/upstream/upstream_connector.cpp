#include "proxy/upstream/upstream_connector.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace mproxy::proxy {

namespace {

using namespace asio::experimental::awaitable_operators;

std::string describe_seconds(steady_clock::duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

awaitable<std::variant<tcp::resolver::results_type, error_code>> resolve(const Authority& authority) {
    error_code not_literal;
    const auto literal = asio::ip::make_address(authority.host, not_literal);
    if (!not_literal)  // an address needs no lookup, nor the trip to the resolver's thread
        co_return tcp::resolver::results_type::create(tcp::endpoint(literal, authority.port), authority.host,
                                                      std::to_string(authority.port));
    tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [ec, results] = co_await resolver.async_resolve(authority.host, std::to_string(authority.port),
                                                         tcp::resolver::numeric_service, use_tuple);
    if (ec) co_return ec;
    co_return results;
}

awaitable<ConnectResult> resolve_and_connect(const Authority& authority, const LoopGuard& loop_guard) {
    auto resolved = co_await resolve(authority);
    if (auto* ec = std::get_if<error_code>(&resolved))
        co_return ConnectFailure{{502, "cannot resolve origin host " + authority.host + ": " + ec->message()},
                                 ConnectFailureCause::resolve};
    const auto& endpoints = std::get<tcp::resolver::results_type>(resolved);
    for (const auto& entry : endpoints) {
        if (loop_guard.is_self(entry.endpoint()))
            co_return ConnectFailure{{508, authority.to_string() + " is this proxy itself: request loop refused"},
                                     ConnectFailureCause::loop};
    }

    tcp::socket socket(co_await asio::this_coro::executor);
    auto [ec, endpoint] = co_await asio::async_connect(socket, endpoints, use_tuple);
    if (ec) {
        if (ec == asio::error::connection_refused)
            co_return ConnectFailure{{502, "origin " + authority.to_string() + " refused the connection"},
                                     ConnectFailureCause::refused};
        co_return ConnectFailure{{502, "cannot connect to origin " + authority.to_string() + ": " + ec.message()},
                                 ConnectFailureCause::unreachable};
    }
    co_return std::make_unique<UpstreamConnection>(std::move(socket), authority);
}

awaitable<void> sleep_for(steady_clock::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_tuple);
}

}  // namespace

std::string_view to_string(ConnectFailureCause cause) {
    switch (cause) {
        case ConnectFailureCause::resolve: return "resolve";
        case ConnectFailureCause::loop: return "loop";
        case ConnectFailureCause::refused: return "refused";
        case ConnectFailureCause::unreachable: return "unreachable";
        case ConnectFailureCause::timeout: return "timeout";
    }
    return "unknown";
}

awaitable<ConnectResult> connect_upstream(const Authority& authority, steady_clock::duration timeout,
                                          const LoopGuard& loop_guard) {
    // The operator flattens the variants: the connection, a failure, or the timer's monostate.
    auto outcome = co_await (resolve_and_connect(authority, loop_guard) || sleep_for(timeout));
    if (auto* connection = std::get_if<std::unique_ptr<UpstreamConnection>>(&outcome)) co_return std::move(*connection);
    if (auto* failure = std::get_if<ConnectFailure>(&outcome)) co_return std::move(*failure);
    co_return ConnectFailure{
        {504, "connecting to origin " + authority.to_string() + " timed out after " + describe_seconds(timeout)},
        ConnectFailureCause::timeout};
}

}  // namespace mproxy::proxy
