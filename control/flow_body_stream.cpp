#include "control/flow_body_stream.hpp"

#include <memory>
#include <string>

#include "control/capture_translation.hpp"
#include "control/pulled_stream.hpp"
#include "proxy/capture/content_decoding.hpp"

namespace mproxy::control {

namespace {

constexpr std::size_t chunk_bytes = 64 * 1024;

using Stream = PulledStream<v1::FlowBodyChunk>;

grpc::Status failed(grpc::StatusCode code, std::string message) {
    return grpc::Status(code, std::move(message));
}

// What one stream works through: the kept bytes, and the decoder over them when decoding.
struct BodyReading {
    v1::CapturedBodyInfo info;
    std::string bytes;
    std::unique_ptr<proxy::ContentDecoder> decoder;
    std::uint64_t max_decoded = 0;
    std::uint64_t offset = 0;  // bytes sent so far (decoded ones when decoding)
    bool first = true;
    std::string flow;  // "flow N's response body", for messages

    grpc::Status next(v1::FlowBodyChunk& out, bool& last) {
        if (first) {
            *out.mutable_info() = info;
            first = false;
        }
        auto& data = *out.mutable_data();
        const bool truncated = info.state() == v1::BODY_STATE_TRUNCATED;
        if (!decoder) {
            const auto n = std::min<std::uint64_t>(chunk_bytes, bytes.size() - offset);
            data.assign(bytes, offset, n);
            offset += n;
            last = offset == bytes.size();
            out.set_complete(last && !truncated);
        } else {
            data.resize(chunk_bytes);
            std::size_t n = 0;
            try {
                n = decoder->read(data.data(), data.size());
            } catch (const proxy::ContentDecodingError& e) {
                return failed(grpc::StatusCode::DATA_LOSS,
                              flow + " does not decode after " + std::to_string(offset) +
                                  " bytes: " + e.what() + " (ask for it raw)");
            }
            data.resize(n);
            if (offset + n > max_decoded)
                return failed(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              flow + " decodes to more than max_decoded_bytes (" +
                                  std::to_string(max_decoded) +
                                  " bytes): a decompression bomb, or a body to read raw or with a "
                                  "larger bound (at most " +
                                  std::to_string(max_max_decoded_bytes) + ")");
            offset += n;
            last = n == 0;
            if (last) out.set_complete(decoder->ended_cleanly() && !truncated);
        }
        out.set_last(last);
        return grpc::Status::OK;
    }
};

}  // namespace

grpc::ServerWriteReactor<v1::FlowBodyChunk>* stream_flow_body(
    const proxy::CaptureStore* store, const v1::GetFlowBodyRequest& request) {
    const auto flow_id = request.flow_id();
    if (flow_id == 0)
        return Stream::fail(
            failed(grpc::StatusCode::INVALID_ARGUMENT, "flow_id: required (0 is no flow)"));
    if (request.max_decoded_bytes() > max_max_decoded_bytes)
        return Stream::fail(
            failed(grpc::StatusCode::INVALID_ARGUMENT,
                   "max_decoded_bytes: at most " + std::to_string(max_max_decoded_bytes)));
    if (!store)
        return Stream::fail(failed(grpc::StatusCode::FAILED_PRECONDITION,
                                   "this server keeps no captures (it runs without a state "
                                   "directory, or with --capture=false)"));
    auto exchange = store->get(flow_id, false);
    if (!exchange)
        return Stream::fail(failed(grpc::StatusCode::NOT_FOUND,
                                   "flow " + std::to_string(flow_id) +
                                       " is not in the capture store (not captured, or evicted)"));
    const bool response = request.direction() != v1::BODY_DIRECTION_REQUEST;
    const auto& body = response ? exchange->response_body : exchange->request_body;
    const auto& fields = response ? exchange->response.fields : exchange->request.fields;
    auto reading = std::make_shared<BodyReading>();
    reading->flow =
        "flow " + std::to_string(flow_id) + "'s " + (response ? "response" : "request") + " body";
    reading->info = body_info(body, fields);
    if (reading->info.state() == v1::BODY_STATE_OFF)
        return Stream::fail(failed(grpc::StatusCode::FAILED_PRECONDITION,
                                   reading->flow + " was not captured (the capture policy keeps "
                                                   "no bytes of it: see its rule's capture block "
                                                   "or --capture-body-bytes)"));
    reading->bytes = store->body(flow_id, response);
    if (reading->bytes.size() != reading->info.captured())  // evicted between the two reads
        return Stream::fail(failed(grpc::StatusCode::NOT_FOUND,
                                   "flow " + std::to_string(flow_id) +
                                       " left the capture store while it was being read (evicted)"));
    reading->max_decoded =
        request.max_decoded_bytes() == 0 ? default_max_decoded_bytes : request.max_decoded_bytes();
    const auto& encoding = reading->info.content_encoding();
    if (request.decode() && !encoding.empty() && body.length > 0) {
        if (!proxy::can_decode(encoding))
            return Stream::fail(failed(grpc::StatusCode::FAILED_PRECONDITION,
                                       reading->flow + " has Content-Encoding \"" + encoding +
                                           "\", which mproxy does not decode (gzip, deflate, br, "
                                           "zstd): ask for it raw"));
        reading->decoder = std::make_unique<proxy::ContentDecoder>(encoding, reading->bytes);
    }
    return Stream::start(
        [reading](v1::FlowBodyChunk& out, bool& last) { return reading->next(out, last); });
}

}  // namespace mproxy::control
