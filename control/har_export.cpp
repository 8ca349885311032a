#include "control/har_export.hpp"

#include <memory>
#include <string>

#include "control/capture_translation.hpp"
#include "control/flow_body_stream.hpp"
#include "control/flow_filter.hpp"
#include "control/flow_translation.hpp"
#include "control/har_document.hpp"
#include "control/pulled_stream.hpp"

#ifndef MPROXY_VERSION
#define MPROXY_VERSION "dev"
#endif

namespace mproxy::control {

namespace {

using Stream = PulledStream<v1::HarChunk>;

constexpr std::size_t chunk_bytes = 1 << 20;  // well under gRPC's 4 MiB message limit
constexpr std::size_t page = 32;              // exchanges read from the store at a time

struct HarExport {
    const proxy::CaptureStore* store = nullptr;
    FlowFilter filter;
    proxy::CaptureQuery query;
    HarOptions options;
    std::uint64_t left = 0;  // entries still allowed; 0 in the request: no limit
    bool limited = false;
    std::vector<std::uint64_t> ids;  // the page being written, oldest first
    std::size_t next_id = 0;
    std::string pending = har_opening(MPROXY_VERSION);
    std::size_t pending_offset = 0;
    bool entries_done = false, first_entry = true;

    // More of the document into `pending` (false when there is nothing more to add).
    bool produce() {
        while (!entries_done && pending.size() - pending_offset < chunk_bytes) {
            if (next_id == ids.size() && !read_page()) {
                pending += har_closing();
                entries_done = true;
                break;
            }
            if (auto exchange = store->get(ids[next_id++], true)) {
                pending += har_entry(*exchange, options, first_entry);
                first_entry = false;
            }
        }
        return pending_offset < pending.size();
    }

    bool read_page() {
        if (limited && left == 0) return false;
        query.limit = limited ? std::min<std::uint64_t>(page, left) : page;
        const auto found = store->list(query, [&](const proxy::CapturedExchange& e) {
            return filter.passes(done_event_of(e));
        });
        ids.clear();
        next_id = 0;
        for (const auto& e : found) ids.push_back(e.flow_id);
        if (!ids.empty()) query.after_id = ids.back();
        if (limited) left -= std::min<std::uint64_t>(left, ids.size());
        return !ids.empty();
    }

    grpc::Status next(v1::HarChunk& out, bool& last) {
        produce();
        const auto n = std::min(chunk_bytes, pending.size() - pending_offset);
        out.set_data(pending.substr(pending_offset, n));
        pending_offset += n;
        // What was sent goes: the buffer holds about one chunk and one entry, never the document.
        pending.erase(0, pending_offset);
        pending_offset = 0;
        last = entries_done && pending.empty();
        return grpc::Status::OK;
    }
};

}  // namespace

grpc::ServerWriteReactor<v1::HarChunk>* stream_har_export(const proxy::CaptureStore* store,
                                                          const v1::ExportHarRequest& request) {
    auto exporting = std::make_shared<HarExport>();
    if (auto status = FlowFilter::compile(request.filter(), exporting->filter); !status.ok())
        return Stream::fail(status);
    if (request.max_decoded_bytes() > max_max_decoded_bytes)
        return Stream::fail(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "max_decoded_bytes: at most " + std::to_string(max_max_decoded_bytes)));
    if (!store)
        return Stream::fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                         "this server keeps no captures (it runs without a state "
                                         "directory, or with --capture=false)"));
    exporting->store = store;
    exporting->query.oldest_first = true;
    if (request.has_since()) exporting->query.since = from_timestamp(request.since());
    if (request.has_until()) exporting->query.until = from_timestamp(request.until());
    if (request.max_decoded_bytes() != 0)
        exporting->options.max_decoded_bytes = request.max_decoded_bytes();
    exporting->limited = request.max_entries() != 0;
    exporting->left = request.max_entries();
    return Stream::start(
        [exporting](v1::HarChunk& out, bool& last) { return exporting->next(out, last); });
}

}  // namespace mproxy::control
