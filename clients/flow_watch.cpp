#include "clients/flow_watch.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "clients/flow_view.hpp"
#include "clients/structured_text.hpp"
#include "mproxy/v1/flows.grpc.pb.h"
#include "mproxy/v1/server.grpc.pb.h"

namespace mproxy::ctl {

namespace {

constexpr auto first_retry_delay = std::chrono::milliseconds(100);
constexpr auto max_retry_delay = std::chrono::seconds(3);
constexpr auto connect_wait = std::chrono::seconds(2);

// Failures that another try cannot cure end the watch; the rest (the server went away, restarted,
// or ended the stream) are waited out.
bool worth_retrying(const grpc::Status& status) {
    switch (status.error_code()) {
        case grpc::StatusCode::UNAUTHENTICATED:
        case grpc::StatusCode::PERMISSION_DENIED:
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::NOT_FOUND:
        case grpc::StatusCode::UNIMPLEMENTED:
        case grpc::StatusCode::FAILED_PRECONDITION:
            return false;
        default:
            return true;
    }
}

// The cursor of a watch: the last event seen, in which server process.
struct Cursor {
    std::string log_id;
    std::uint64_t sequence = 0;
};

}  // namespace

LeadingFields WatchOutput::replica_field(const std::string& replica) const {
    return tagged_ ? LeadingFields{{"replica", replica}} : LeadingFields{};
}

void WatchOutput::write(const std::string& replica, const std::string& line) {
    std::lock_guard lock(mutex_);
    if (format_ == OutputFormat::table && tagged_)
        std::cout << "[" << replica << "] " << line << std::endl;
    else
        std::cout << line << std::endl;
    if (!std::cout) throw CliError(exit_failure, "cannot write the output");
}

void WatchOutput::event(const std::string& replica, const v1::FlowEvent& event) {
    const auto tag = replica_field(replica);
    switch (format_) {
        case OutputFormat::json:
            return write(replica, json_line(event, tag));
        case OutputFormat::yaml: {
            auto document = yaml_document(event, tag);
            document.pop_back();  // write() ends the line
            return write(replica, document);
        }
        case OutputFormat::table: {
            // Fields under their head's line, as curl -v marks them: > sent, < received.
            auto text = event_line(event);
            const char mark = event.has_request_head() ? '>' : '<';
            for (const auto& field : event.fields())
                text += std::string("\n    ") + mark + " " + field.name() + ": " + field.value();
            return write(replica, text);
        }
    }
}

void WatchOutput::gap(const std::string& replica, const std::string& log_id, const v1::Gap& gap) {
    if (format_ == OutputFormat::table) return write(replica, gap_line(gap));
    v1::WatchFlowsResponse said;  // a response holding only the gap, as the server sent it
    said.set_log_id(log_id);
    *said.mutable_gap() = gap;
    const auto tag = replica_field(replica);
    if (format_ == OutputFormat::json) return write(replica, json_line(said, tag));
    auto document = yaml_document(said, tag);
    document.pop_back();
    write(replica, document);
}

void WatchOutput::notice(const std::string& replica, const std::string& text) {
    std::lock_guard lock(mutex_);
    if (tagged_)
        std::fprintf(stderr, "mproxyctl: [%s] %s\n", replica.c_str(), text.c_str());
    else
        std::fprintf(stderr, "mproxyctl: %s\n", text.c_str());
}

void watch_replica(const ControlChannel& replica, const WatchOptions& options,
                   WatchOutput& output) {
    // The server's log_id and last sequence now: a watch "from now on" resumes from here too.
    const auto info = call<v1::ServerService>(replica, &v1::ServerService::Stub::GetServerInfo,
                                              v1::GetServerInfoRequest{});
    Cursor cursor{info.log_id(), options.since.value_or(info.totals().flow_events())};
    auto stub = v1::FlowsService::NewStub(replica.channel());
    auto retry_delay = first_retry_delay;
    bool reconnecting = false;
    for (;;) {
        v1::WatchFlowsRequest request;
        *request.mutable_filter() = options.filter;
        request.set_since_sequence(cursor.sequence);
        request.set_log_id(cursor.log_id);
        request.set_include_headers(options.headers);
        auto context = replica.stream_context();
        auto stream = stub->WatchFlows(context.get(), request);
        v1::WatchFlowsResponse response;
        while (stream->Read(&response)) {
            if (reconnecting) {
                output.notice(replica.address(), "watching again");
                reconnecting = false;
                retry_delay = first_retry_delay;
            }
            if (response.has_gap()) {
                const auto& gap = response.gap();
                output.gap(replica.address(), response.log_id(), gap);
                const std::uint64_t before_next = gap.resumed_at() > 0 ? gap.resumed_at() - 1 : 0;
                // After a restart the sequences start again; otherwise never step back.
                cursor.sequence =
                    gap.server_restarted() ? before_next : std::max(cursor.sequence, before_next);
            }
            cursor.log_id = response.log_id();
            for (const auto& event : response.events()) {
                if (event.sequence() <= cursor.sequence)
                    continue;  // already printed before a reconnect
                output.event(replica.address(), event);
                cursor.sequence = event.sequence();
            }
        }
        const auto status = stream->Finish();
        if (!worth_retrying(status)) throw error_from_status(status, replica.site());
        if (!reconnecting) {
            output.notice(replica.address(),
                          "lost the flow stream (" + status.error_message() + "); reconnecting");
            reconnecting = true;
        }
        // Wait before trying again, then for the channel to connect (it retries on its own).
        std::this_thread::sleep_for(retry_delay);
        retry_delay = std::min<std::chrono::milliseconds>(retry_delay * 2, max_retry_delay);
        replica.channel()->WaitForConnected(std::chrono::system_clock::now() + connect_wait);
    }
}

}  // namespace mproxy::ctl
