// `mproxyctl flows show|body|har`: what the capture store keeps of exchanges, read back.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "clients/command_context.hpp"
#include "clients/exchange_view.hpp"
#include "clients/flow_filter_flags.hpp"
#include "clients/time_spec.hpp"
#include "mproxy/v1/flows.grpc.pb.h"

namespace mproxy::ctl {

namespace {

constexpr std::size_t preview_bytes = 4096;

// The body's first bytes, decoded: the stream is cancelled once the preview is full.
BodyPreview fetch_preview(const ControlChannel& replica, const v1::Flow& flow) {
    BodyPreview preview;
    const auto& body = flow.capture().response_body();
    if (body.state() == v1::BODY_STATE_EMPTY || body.state() == v1::BODY_STATE_OFF) return preview;
    auto stub = v1::FlowsService::NewStub(replica.channel());
    auto context = replica.context();
    v1::GetFlowBodyRequest request;
    request.set_flow_id(flow.flow_id());
    request.set_direction(v1::BODY_DIRECTION_RESPONSE);
    request.set_decode(true);
    auto reader = stub->GetFlowBody(context.get(), request);
    v1::FlowBodyChunk chunk;
    bool last = false;
    while (preview.bytes.size() < preview_bytes && reader->Read(&chunk)) {
        preview.bytes += chunk.data();
        last = chunk.last();
        if (last) break;
    }
    if (!last) context->TryCancel();
    const auto status = reader->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
        preview.bytes.clear();
        preview.note = "no preview: " + status.error_message();
        return preview;
    }
    preview.whole = last && preview.bytes.size() <= preview_bytes;
    if (preview.bytes.size() > preview_bytes) preview.bytes.resize(preview_bytes);
    if (!looks_like_text(preview.bytes)) {
        preview.note = "binary body, not shown (mproxyctl flows body " +
                       std::to_string(flow.flow_id()) + " -o FILE)";
        preview.bytes.clear();
    }
    return preview;
}

int show(const CommandContext& context, std::uint64_t id) {
    const auto fleet = context.fleet();
    const auto answers = get_flow_everywhere(fleet, id);
    if (context.format() != OutputFormat::table) {
        Printer printer(context.format(), fleet.tagged, {});
        for (const auto& answer : answers)
            if (answer.result) printer.row(answer.replica, *answer.result, {});
        printer.finish();
        return report_errors(answers, fleet.tagged);
    }
    for (std::size_t i = 0; i < answers.size(); ++i) {
        const auto& answer = answers[i];
        if (!answer.result) continue;
        if (fleet.tagged) std::cout << "* replica " << answer.replica << "\n";
        const auto& replica = fleet.replicas[static_cast<std::size_t>(
            std::find_if(fleet.replicas.begin(), fleet.replicas.end(),
                         [&](const auto& r) { return r.address() == answer.replica; }) -
            fleet.replicas.begin())];
        const auto preview =
            answer.result->has_capture() ? fetch_preview(replica, *answer.result) : BodyPreview{};
        print_exchange(std::cout, *answer.result, preview);
    }
    return report_errors(answers, fleet.tagged);
}

// Where streamed bytes go: a file written beside its final name and renamed into place once
// complete (no half-written file under the name asked for), or stdout.
class Destination {
  public:
    explicit Destination(const std::string& file) : file_(file) {
        if (file_.empty()) return;
        partial_ = file_ + ".partial";
        out_.open(partial_, std::ios::binary | std::ios::trunc);
        if (!out_) throw CliError(exit_failure, file_ + ": cannot be written");
    }
    ~Destination() {
        if (!file_.empty() && !committed_) {
            out_.close();
            std::remove(partial_.c_str());
        }
    }
    std::ostream& stream() { return file_.empty() ? std::cout : out_; }
    bool to_terminal() const { return file_.empty() && isatty(STDOUT_FILENO); }
    void commit() {
        if (file_.empty()) {
            std::cout.flush();
            return;
        }
        out_.close();
        if (!out_) throw CliError(exit_failure, file_ + ": writing failed");
        std::error_code ec;
        std::filesystem::rename(partial_, file_, ec);
        if (ec) throw CliError(exit_failure, file_ + ": " + ec.message());
        committed_ = true;
    }

  private:
    std::string file_, partial_;
    std::ofstream out_;
    bool committed_ = false;
};

// The first replica of the fleet that keeps flow `id` (the others' NOT_FOUND is no failure).
template <class Stream>
int from_first_holder(const Fleet& fleet, Stream stream) {
    std::optional<CliError> first_error;
    for (const auto& replica : fleet.replicas) {
        try {
            return stream(replica);
        } catch (const CliError& e) {
            if (e.code() != exit_not_found || fleet.replicas.size() == 1) throw;
            if (!first_error) first_error = e;
        }
    }
    throw *first_error;
}

struct BodyFlags {
    std::uint64_t id = 0;
    bool request = false;
    bool raw = false;
    std::string file;
};

int body(const CommandContext& context, const BodyFlags& flags) {
    const auto fleet = context.fleet();
    return from_first_holder(fleet, [&](const ControlChannel& replica) {
        auto stub = v1::FlowsService::NewStub(replica.channel());
        auto call_context = replica.stream_context();
        v1::GetFlowBodyRequest request;
        request.set_flow_id(flags.id);
        request.set_direction(flags.request ? v1::BODY_DIRECTION_REQUEST
                                            : v1::BODY_DIRECTION_RESPONSE);
        request.set_decode(!flags.raw);
        auto reader = stub->GetFlowBody(call_context.get(), request);
        Destination destination(flags.file);
        v1::FlowBodyChunk chunk;
        bool first = true, complete = false;
        v1::CapturedBodyInfo info;
        while (reader->Read(&chunk)) {
            if (first) {
                info = chunk.info();
                if (destination.to_terminal() && !looks_like_text(chunk.data())) {
                    call_context->TryCancel();
                    reader->Finish();
                    throw CliError(exit_usage,
                                   "the body is binary: write it to a file (-o FILE) "
                                   "or redirect stdout");
                }
                first = false;
            }
            destination.stream() << chunk.data();
            complete = chunk.complete();
        }
        check(reader->Finish(), replica.site());
        destination.commit();
        if (!complete && info.state() == v1::BODY_STATE_TRUNCATED) {
            std::cerr << "mproxyctl: only the first " << info.captured() << " of " << info.length()
                      << " bytes were captured (the capture policy's cap)\n";
        } else if (!complete) {
            // Captured whole, yet its coding stopped before its end: the output is partial.
            std::cerr << "mproxyctl: the body's " << info.content_encoding()
                      << " coding ends early: what was written is only what decoded (--raw "
                         "gives the bytes as captured)\n";
            return exit_failure;
        }
        return exit_ok;
    });
}

struct HarFlags {
    FlowFilterFlags filter;
    std::string since, until;
    std::uint32_t limit = 0;
    std::string file;
};

int har(const CommandContext& context, const HarFlags& flags) {
    v1::ExportHarRequest request;
    *request.mutable_filter() = flow_filter(flags.filter);
    if (!flags.since.empty()) *request.mutable_since() = parse_time_spec(flags.since, "--since");
    if (!flags.until.empty()) *request.mutable_until() = parse_time_spec(flags.until, "--until");
    request.set_max_entries(flags.limit);
    const auto fleet = context.fleet();
    if (fleet.replicas.size() > 1)
        throw CliError(exit_usage, "flows har exports one server's store: name it with --server");
    const auto& replica = fleet.replicas.front();
    auto stub = v1::FlowsService::NewStub(replica.channel());
    auto call_context = replica.stream_context();
    auto reader = stub->ExportHar(call_context.get(), request);
    Destination destination(flags.file);
    v1::HarChunk chunk;
    while (reader->Read(&chunk)) destination.stream() << chunk.data();
    check(reader->Finish(), replica.site());
    destination.commit();
    return exit_ok;
}

}  // namespace

void add_flow_capture_commands(CLI::App& flows, CommandContext& context) {
    auto id = std::make_shared<std::uint64_t>(0);
    auto* show_command = flows.add_subcommand(
        "show", "One exchange as curl -v prints it: fields as sent and received, a body preview");
    show_command->add_option("ID", *id, "The flow id")->required();
    show_command->footer(
        "Examples:\n  mproxyctl flows show 42\n  mproxyctl flows show 42 -o json | jq .capture");
    on_run(show_command, context, [id](const CommandContext& c) { return show(c, *id); });

    auto body_flags = std::make_shared<BodyFlags>();
    auto* body_command = flows.add_subcommand(
        "body", "A captured body, its Content-Encoding undone (gzip, deflate, br, zstd)");
    body_command->add_option("ID", body_flags->id, "The flow id")->required();
    body_command->add_flag("--request", body_flags->request,
                           "The request's body (default: the response's)");
    body_command->add_flag("--raw", body_flags->raw, "The bytes as captured, not decoded");
    body_command->add_option("-o,--file", body_flags->file, "Write to this file (default: stdout)");
    body_command->footer(
        "Examples:\n  mproxyctl flows body 42 | jq .\n  mproxyctl flows body 42 --raw -o "
        "body.gz\n  mproxyctl flows body 42 --request -o upload.bin");
    on_run(body_command, context,
           [body_flags](const CommandContext& c) { return body(c, *body_flags); });

    auto har_flags = std::make_shared<HarFlags>();
    auto* har_command = flows.add_subcommand(
        "har", "The captured exchanges as a HAR 1.2 file (for browsers' devtools and HAR viewers)");
    add_flow_filter_flags(*har_command, har_flags->filter);
    har_command->add_option("--since", har_flags->since,
                            "Exchanges that started at or after: an age (15m, 2h, 7d) or an RFC "
                            "3339 time");
    har_command->add_option("--until", har_flags->until, "Exchanges that started before");
    har_command->add_option("--limit", har_flags->limit, "At most this many, oldest first");
    har_command->add_option("-o,--file", har_flags->file, "Write to this file (default: stdout)");
    har_command->footer(
        "Examples:\n  mproxyctl flows har --since 1h -o last-hour.har\n  mproxyctl flows har "
        "--host api.example.com --status 5xx -o failures.har");
    on_run(har_command, context,
           [har_flags](const CommandContext& c) { return har(c, *har_flags); });
}

}  // namespace mproxy::ctl
