#pragma once
// ExportHar: the stored exchanges that pass a filter and a time range, oldest first, as one HAR 1.2
// document streamed in pieces; an exchange (and its bodies) is read from the store only when the
// stream is ready for it.

#include <grpcpp/support/server_callback.h>

#include "mproxy/v1/flows.pb.h"
#include "proxy/capture/capture_store.hpp"

namespace mproxy::control {

grpc::ServerWriteReactor<v1::HarChunk>* stream_har_export(const proxy::CaptureStore* store,
                                                          const v1::ExportHarRequest& request);

}  // namespace mproxy::control
