#pragma once
// One log line per exchange and per failure, tagged with the connection id, in one place so that
// every mode logs the same fields.

#include <cstdint>
#include <string_view>

#include "proxy/http/authority.hpp"
#include "proxy/http/http_head.hpp"
#include "proxy/session/exchange.hpp"

namespace mproxy::proxy {

struct ExchangeLog {
    static void exchange_done(std::uint64_t connection, const RequestHead& request, const Authority& origin,
                              const ExchangeOutcome& outcome);
    static void connect_failed(std::uint64_t connection, const RequestHead& request, const Authority& origin,
                               std::string_view reason);
};

}  // namespace mproxy::proxy
