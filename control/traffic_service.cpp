// TrafficService: who used the bandwidth, since start and over the last minute, from the sampler.

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/connections.grpc.pb.h"

namespace mproxy::control {

namespace {

using google::protobuf::util::TimeUtil;
using Table = std::unordered_map<std::string, proxy::TrafficBytes>;

constexpr std::uint32_t default_top = 10;
constexpr std::uint32_t max_top = 1000;

// The `top` entries of `table` by `weight`, heaviest first; ties by key so that the answer is stable.
template <class Weight>
void add_top(const Table& table, std::uint32_t top, Weight weight,
             google::protobuf::RepeatedPtrField<v1::TrafficEntry>& out) {
    std::vector<const Table::value_type*> entries;
    entries.reserve(table.size());
    for (const auto& entry : table) entries.push_back(&entry);
    const auto heavier = [&](const Table::value_type* a, const Table::value_type* b) {
        const auto wa = weight(a->second), wb = weight(b->second);
        return wa != wb ? wa > wb : a->first < b->first;
    };
    const auto count = std::min<std::size_t>(top, entries.size());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(count), entries.end(), heavier);
    for (std::size_t i = 0; i < count; ++i) {
        const auto& [key, bytes] = *entries[i];
        auto& entry = *out.Add();
        entry.set_key(key);
        entry.set_client_rx_bytes(bytes.client_rx);
        entry.set_client_tx_bytes(bytes.client_tx);
        entry.set_upstream_rx_bytes(bytes.upstream_rx);
        entry.set_upstream_tx_bytes(bytes.upstream_tx);
        entry.set_connections(bytes.connections);
    }
}

template <class Duration>
void fill(const TrafficTables& tables, std::uint32_t top, Duration span, v1::TrafficWindow& out) {
    add_top(tables.by_client, top, [](const proxy::TrafficBytes& b) { return b.client_rx + b.client_tx; },
            *out.mutable_by_client());
    add_top(tables.by_target, top, [](const proxy::TrafficBytes& b) { return b.upstream_rx + b.upstream_tx; },
            *out.mutable_by_target());
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(span).count();
    *out.mutable_span() = TimeUtil::NanosecondsToDuration(std::max<std::int64_t>(nanos, 0));
}

class TrafficService final : public v1::TrafficService::CallbackService {
public:
    explicit TrafficService(ControlContext& context) : ctx_(context) {}

    grpc::ServerUnaryReactor* GetTrafficSummary(grpc::CallbackServerContext* context,
                                                const v1::GetTrafficSummaryRequest* request,
                                                v1::GetTrafficSummaryResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            if (request->top() > max_top)
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "top: at most " + std::to_string(max_top) + " entries per list");
            const auto top = request->top() == 0 ? default_top : request->top();
            const auto summary = ctx_.traffic.summary();
            fill(summary.since_start, top, std::chrono::system_clock::now() - ctx_.proxy.started(),
                 *response->mutable_since_start());
            fill(summary.last_window, top, summary.window_span, *response->mutable_last_minute());
            return grpc::Status::OK;
        });
    }

private:
    ControlContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_traffic_service(ControlContext& context) {
    return std::make_unique<TrafficService>(context);
}

}  // namespace mproxy::control
