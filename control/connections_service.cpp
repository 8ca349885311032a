// ConnectionsService: the registry's live connections with their counters, and closing them.

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>

#include "control/connection_filter.hpp"
#include "control/enum_translation.hpp"
#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/connections.grpc.pb.h"

namespace mproxy::control {

namespace {

using google::protobuf::util::TimeUtil;

void fill(const proxy::ConnectionSnapshot& snapshot, std::chrono::system_clock::time_point now,
          v1::Connection& out) {
    out.set_id(snapshot.id);
    out.set_client(snapshot.client);
    out.set_target(snapshot.target);
    out.set_mode(to_proto(snapshot.mode));
    *out.mutable_started() = TimeUtil::NanosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(snapshot.started.time_since_epoch()).count());
    const auto age = std::max(now - snapshot.started, std::chrono::system_clock::duration::zero());
    *out.mutable_age() =
        TimeUtil::NanosecondsToDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(age).count());
    out.set_client_rx_bytes(snapshot.client_rx);
    out.set_client_tx_bytes(snapshot.client_tx);
    out.set_upstream_rx_bytes(snapshot.upstream_rx);
    out.set_upstream_tx_bytes(snapshot.upstream_tx);
    out.set_exchanges(snapshot.exchanges);
}

class ConnectionsService final : public v1::ConnectionsService::CallbackService {
public:
    explicit ConnectionsService(ControlContext& context) : ctx_(context) {}

    grpc::ServerUnaryReactor* ListConnections(grpc::CallbackServerContext* context,
                                              const v1::ListConnectionsRequest* request,
                                              v1::ListConnectionsResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            ConnectionFilter filter;
            if (auto status = ConnectionFilter::parse(request->filter(), "filter", filter); !status.ok()) return status;
            auto live = ctx_.proxy.connections().snapshot();
            std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
            const auto now = std::chrono::system_clock::now();
            for (const auto& connection : live)
                if (filter.matches(connection)) fill(connection, now, *response->add_connections());
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* CloseConnection(grpc::CallbackServerContext* context,
                                              const v1::CloseConnectionRequest* request,
                                              v1::CloseConnectionResponse*) override {
        return unary_call(context, ctx_.auth, [&] {
            if (!ctx_.proxy.connections().close(request->id()))
                return grpc::Status(grpc::StatusCode::NOT_FOUND,
                                    "id: no live connection " + std::to_string(request->id()));
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* CloseConnections(grpc::CallbackServerContext* context,
                                               const v1::CloseConnectionsRequest* request,
                                               v1::CloseConnectionsResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            ConnectionFilter filter;
            if (auto status = ConnectionFilter::parse(request->filter(), "filter", filter); !status.ok()) return status;
            // An empty filter closing everything is too easy to send by mistake: it takes `all`.
            if (filter.empty() && !request->all())
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "filter: give at least one condition, or set all to close every connection");
            response->set_closed(ctx_.proxy.connections().close_if(
                [&](const proxy::ConnectionSnapshot& connection) { return filter.matches(connection); }));
            return grpc::Status::OK;
        });
    }

private:
    ControlContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_connections_service(ControlContext& context) {
    return std::make_unique<ConnectionsService>(context);
}

}  // namespace mproxy::control
