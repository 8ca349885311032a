// ServerService: what this server is, where it listens, how long it has run, what it has carried.

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <chrono>

#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/server.grpc.pb.h"
#include "proxy/capture/capture_store.hpp"

#ifndef MPROXY_VERSION
#define MPROXY_VERSION "unknown"
#endif
#ifndef MPROXY_BUILD_TYPE
#define MPROXY_BUILD_TYPE ""
#endif

namespace mproxy::control {

namespace {

using google::protobuf::util::TimeUtil;

std::int64_t nanoseconds(std::chrono::system_clock::duration span) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(span).count();
}

std::string compiler() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

// Closed connections' totals plus the live ones' counters so far: the sum of the traffic table by
// client, which holds every byte (past its key cap in "(other)") and reads the registry consistently.
void fill_totals(ControlContext& ctx, v1::ServerTotals& out) {
    auto& registry = ctx.proxy.connections();
    proxy::TrafficBytes bytes;
    for (const auto& [client, traffic] : cumulative_traffic(registry).by_client) bytes += traffic;
    out.set_connections_opened(registry.opened_total());
    out.set_connections_live(registry.live());
    out.set_exchanges(bytes.exchanges);
    out.set_client_rx_bytes(bytes.client_rx);
    out.set_client_tx_bytes(bytes.client_tx);
    out.set_upstream_rx_bytes(bytes.upstream_rx);
    out.set_upstream_tx_bytes(bytes.upstream_tx);
    out.set_flow_events(ctx.proxy.flows().last_sequence());
    out.set_flow_subscribers(ctx.proxy.flows().subscribers.load(std::memory_order_relaxed));
    out.set_rules(ctx.rules.list().size());
    out.set_rule_generation(ctx.rules.generation());
}

class ServerService final : public v1::ServerService::CallbackService {
public:
    explicit ServerService(ControlContext& context) : ctx_(context) {}

    grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context, const v1::GetServerInfoRequest*,
                                            v1::ServerInfo* response) override {
        return unary_call(context, ctx_.auth, [&] {
            const auto started = ctx_.proxy.started();
            const auto now = std::chrono::system_clock::now();
            response->set_version(MPROXY_VERSION);
            *response->mutable_started() = TimeUtil::NanosecondsToTimestamp(nanoseconds(started.time_since_epoch()));
            *response->mutable_uptime() = TimeUtil::NanosecondsToDuration(
                nanoseconds(std::max(now - started, std::chrono::system_clock::duration::zero())));
            for (const auto& listener : ctx_.listeners()) {
                auto& out = *response->add_listeners();
                out.set_name(listener.name);
                out.set_address(listener.address);
            }
            auto& build = *response->mutable_build();
            build.set_version(MPROXY_VERSION);
            build.set_compiler(compiler());
            build.set_build_type(MPROXY_BUILD_TYPE);
            build.set_grpc_version(grpc::Version());
            build.set_openssl_version(OpenSSL_version(OPENSSL_VERSION));
            fill_totals(ctx_, *response->mutable_totals());
            response->set_log_id(ctx_.log_id);
            response->set_default_action(std::string(proxy::to_string(ctx_.rules.default_action())));
            response->set_threads(ctx_.proxy.config().threads);
            if (const auto* store = ctx_.proxy.captures()) {
                const auto stats = store->stats();
                auto& capture = *response->mutable_capture();
                capture.set_file(store->file().string());
                capture.set_stored(stats.stored);
                capture.set_dropped(stats.dropped_queue_full + stats.dropped_disk_full +
                                    stats.dropped_write_error);
                capture.set_bytes(stats.bytes);
                capture.set_max_bytes(ctx_.proxy.config().capture_max_bytes);
                capture.set_disk_full(stats.disk_full);
                capture.set_newest_flow_id(store->newest_id());
            }
            return grpc::Status::OK;
        });
    }

private:
    ControlContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_server_service(ControlContext& context) {
    return std::make_unique<ServerService>(context);
}

}  // namespace mproxy::control
