#include "proxy/session/exchange_log.hpp"

#include <spdlog/spdlog.h>

namespace mproxy::proxy {

namespace {
double millis(steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

void ExchangeLog::exchange_done(std::uint64_t connection, const RequestHead& request, const Authority& origin,
                                const ExchangeOutcome& o) {
    const auto level = o.error.empty() ? spdlog::level::info : spdlog::level::warn;
    if (!spdlog::should_log(level)) return;
    spdlog::log(level,
                "conn={} {} {}{} -> {} req_head={} req_body={} resp_head={} resp_body={} interim={} ttfb={:.2f}ms "
                "total={:.2f}ms{}{}{}{}",
                connection, request.method, origin.to_string(), request.target, o.status, o.request_head_bytes,
                o.request_body_bytes, o.response_head_bytes, o.response_body_bytes, o.interim_responses,
                millis(o.time_to_first_byte), millis(o.duration), o.upgraded ? " upgraded" : "",
                o.answered_early ? " answered-before-request-body-ended" : "",
                o.error.empty() ? "" : " error: ", o.error);
}

void ExchangeLog::connect_failed(std::uint64_t connection, const RequestHead& request, const Authority& origin,
                                 std::string_view reason) {
    spdlog::warn("conn={} {} {}{} -> no origin connection: {}", connection, request.method, origin.to_string(),
                 request.target, reason);
}

}  // namespace mproxy::proxy
