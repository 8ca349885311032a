#pragma once
// GetFlowBody: a captured body from the store, in chunks, decoded when asked within a bound.

#include <grpcpp/support/server_callback.h>

#include "mproxy/v1/flows.pb.h"
#include "proxy/capture/capture_store.hpp"

namespace mproxy::control {

// The decoded-size bound when the request gives none, and the most a request may ask for.
inline constexpr std::uint64_t default_max_decoded_bytes = std::uint64_t{64} << 20;
inline constexpr std::uint64_t max_max_decoded_bytes = std::uint64_t{1} << 30;

// The stream for `request` over `store` (nullptr: the server keeps no captures).
grpc::ServerWriteReactor<v1::FlowBodyChunk>* stream_flow_body(
    const proxy::CaptureStore* store, const v1::GetFlowBodyRequest& request);

}  // namespace mproxy::control
