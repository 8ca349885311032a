// Flow-event subscribers for bench/run.sh's flows group: N WatchFlows streams (live events, empty
// filter), each on its own channel and thread, each reading as fast as it can, as N independent
// operators watching one mproxyd would.
//
//   bench_flow_subscriber --server HOST:PORT --token-file FILE [--subscribers N] [--seconds S]
//                         [--warmup W]
//
// The streams open at once and read from then on; events are counted only in the window from W to
// W + S seconds after the start, so that the caller can line that window up with its measured load.
// At the end every call is cancelled and the tool prints one `summary:` line of key=value pairs
// that bench/flows.sh reads:
//   events_per_s_each   events received per second by one stream, the mean over the streams
//   events_per_s_min    the slowest stream's
//   missed_total        sum of Gap.missed over every stream in the window: events the server
//                       dropped for a subscriber that fell behind
//   produced_per_s      sequence numbers that passed in the window (first stream's view): the
//                       rate at which mproxyd made events, whatever was delivered
//   events_per_message  events per WatchFlowsResponse (each is a batch), over every stream
//   bytes_per_event     serialized WatchFlowsResponse bytes per event, over every stream
// Exit status 0; 2 when a stream failed (its status is printed on stderr); 1 on bad usage.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mproxy/v1/flows.grpc.pb.h"

namespace v1 = mproxy::v1;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string server;
    std::string token_file;
    int subscribers = 1;
    double seconds = 10;
    double warmup = 0;
};

[[noreturn]] void usage(const std::string& error) {
    std::fprintf(stderr,
                 "error: %s\nusage: bench_flow_subscriber --server HOST:PORT --token-file FILE "
                 "[--subscribers N] "
                 "[--seconds S] [--warmup W]\n",
                 error.c_str());
    std::exit(1);
}

double parse_number(std::string_view name, const std::string& text, double min, double max) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || value < min || value > max)
        usage("bad value for " + std::string(name) + ": " + text);
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (i + 1 >= argc) usage(std::string(name) + " needs a value");
        const std::string value = argv[++i];
        if (name == "--server")
            options.server = value;
        else if (name == "--token-file")
            options.token_file = value;
        else if (name == "--subscribers")
            options.subscribers = static_cast<int>(parse_number(name, value, 1, 1000));
        else if (name == "--seconds")
            options.seconds = parse_number(name, value, 0.1, 86400);
        else if (name == "--warmup")
            options.warmup = parse_number(name, value, 0, 86400);
        else
            usage("unknown option " + std::string(name));
    }
    if (options.server.empty()) usage("--server is required");
    if (options.token_file.empty()) usage("--token-file is required");
    return options;
}

std::string read_token(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    std::string token = text.str();
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
    if (!file || token.empty()) throw std::runtime_error("no token in " + path);
    return token;
}

// What one stream saw inside the counting window.
struct StreamCounts {
    std::uint64_t events = 0;
    std::uint64_t messages = 0;  // WatchFlowsResponse batches
    std::uint64_t bytes = 0;     // their serialized size
    std::uint64_t missed = 0;
    std::uint64_t gaps = 0;
    std::uint64_t first_sequence = 0;  // 0: no event in the window
    std::uint64_t last_sequence = 0;
    std::uint64_t unexplained = 0;  // sequence jumps no Gap accounts for: must stay 0
    std::uint64_t malformed = 0;    // messages that did not scan: must stay 0
    grpc::Status status;
    bool ended_early = false;  // the server finished the stream before we cancelled it
};

// What one WatchFlowsResponse holds, read straight off its wire bytes: the tool only counts, so it
// builds no message (a FlowEvent's strings would cost this process more than mproxyd spends sending
// it, and on a two-core machine this process shares its core with the load).
struct MessageScan {
    std::uint64_t events = 0;
    std::uint64_t first_sequence = 0, last_sequence = 0;
    std::uint64_t missed = 0;  // Gap.missed
    bool gap = false;
    // Sequence jumps inside the message (never, for an empty filter).
    std::uint64_t unexplained = 0;
};

bool scan_event(google::protobuf::io::CodedInputStream& in, std::uint32_t length,
                MessageScan& scan) {
    const auto limit = in.PushLimit(static_cast<int>(length));
    std::uint64_t sequence = 0;
    // The sequence is field 1, written first. (Not ExpectTag: it fails at a buffer's end.)
    if (in.ReadTag() != (1 << 3) || !in.ReadVarint64(&sequence)) return false;
    if (!in.Skip(in.BytesUntilLimit())) return false;
    in.PopLimit(limit);
    if (scan.events > 0 && sequence != scan.last_sequence + 1) ++scan.unexplained;
    if (scan.events == 0) scan.first_sequence = sequence;
    scan.last_sequence = sequence;
    ++scan.events;
    return true;
}

bool scan_message(grpc::ByteBuffer& buffer, MessageScan& scan) {
    grpc::ProtoBufferReader reader(&buffer);
    google::protobuf::io::CodedInputStream in(&reader);
    while (const auto tag = in.ReadTag()) {
        const auto field = tag >> 3;
        std::uint32_t length = 0;
        if (field == 2 && (tag & 7) == 2) {  // events
            if (!in.ReadVarint32(&length) || !scan_event(in, length, scan)) return false;
        } else if (field == 3 && (tag & 7) == 2) {  // gap
            v1::Gap gap;
            if (!in.ReadVarint32(&length)) return false;
            const auto limit = in.PushLimit(static_cast<int>(length));
            if (!gap.ParseFromCodedStream(&in)) return false;
            in.PopLimit(limit);
            scan.gap = true;
            scan.missed += gap.missed();
        } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
            return false;
        }
    }
    return in.ConsumedEntireMessage();
}

class Subscriber {
  public:
    Subscriber(const Options& options, const std::string& token, int index) {
        grpc::ChannelArguments args;
        // Its own connection per subscriber: gRPC otherwise shares one subchannel between channels
        // to the same address, and five subscribers would be five streams on one HTTP/2 connection.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt("mproxy.bench.subscriber", index);
        channel_ =
            grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
        context_.AddMetadata("authorization", "Bearer " + token);
    }

    // Reads until the call is cancelled or fails, counting what arrives in [window_start,
    // window_end).
    void run(Clock::time_point window_start, Clock::time_point window_end) {
        v1::WatchFlowsRequest request;  // empty filter, no since_sequence: live events from now on
        grpc::ByteBuffer raw_request, response;
        bool own_buffer = false;
        if (!grpc::SerializationTraits<v1::WatchFlowsRequest>::Serialize(request, &raw_request,
                                                                         &own_buffer)
                 .ok())
            throw std::runtime_error("cannot serialize a WatchFlowsRequest");
        // The generated stub's call, with byte buffers in place of messages.
        const grpc::internal::RpcMethod method("/mproxy.v1.FlowsService/WatchFlows",
                                               grpc::internal::RpcMethod::SERVER_STREAMING,
                                               channel_);
        std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
            grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel_.get(), method,
                                                                          &context_, raw_request));
        while (reader->Read(&response)) {
            const auto now = Clock::now();
            if (now < window_start || now >= window_end) continue;
            MessageScan scan;
            if (!scan_message(response, scan)) {
                ++counts_.malformed;
                continue;
            }
            ++counts_.messages;
            counts_.bytes += response.Length();
            if (scan.gap) {
                ++counts_.gaps;
                counts_.missed += scan.missed;
            }
            if (scan.events > 0) {
                // Between messages, a jump must be what a Gap said was missed.
                if (counts_.last_sequence != 0 &&
                    scan.first_sequence != counts_.last_sequence + 1 + (scan.gap ? scan.missed : 0))
                    ++counts_.unexplained;
                counts_.events += scan.events;
                counts_.unexplained += scan.unexplained;
                if (counts_.first_sequence == 0) counts_.first_sequence = scan.first_sequence;
                counts_.last_sequence = scan.last_sequence;
            }
        }
        counts_.status = reader->Finish();
        std::lock_guard lock(mutex_);
        counts_.ended_early = !cancelled_;
    }

    // Safe from any thread, before, during or after run().
    void cancel() {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
        context_.TryCancel();
    }

    // Only after the thread that ran run() has been joined.
    const StreamCounts& counts() const { return counts_; }

  private:
    std::shared_ptr<grpc::Channel> channel_;
    grpc::ClientContext context_;
    StreamCounts counts_;
    std::mutex mutex_;
    bool cancelled_ = false;
};

std::chrono::nanoseconds to_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(seconds));
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    std::string token;
    try {
        token = read_token(options.token_file);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }

    std::vector<std::unique_ptr<Subscriber>> subscribers;
    for (int i = 0; i < options.subscribers; ++i)
        subscribers.push_back(std::make_unique<Subscriber>(options, token, i));

    const auto start = Clock::now();
    const auto window_start = start + to_duration(options.warmup);
    const auto window_end = window_start + to_duration(options.seconds);
    std::vector<std::jthread> threads;
    for (auto& subscriber : subscribers) {
        threads.emplace_back(
            [&subscriber, window_start, window_end] { subscriber->run(window_start, window_end); });
    }
    std::this_thread::sleep_until(window_end);
    for (auto& subscriber : subscribers) subscriber->cancel();
    for (auto& thread : threads) thread.join();

    bool failed = false;
    std::uint64_t events_total = 0, events_min = UINT64_MAX, missed_total = 0, gaps_total = 0,
                  messages_total = 0, bytes_total = 0;
    for (std::size_t i = 0; i < subscribers.size(); ++i) {
        const StreamCounts& c = subscribers[i]->counts();
        if (c.unexplained > 0 || c.malformed > 0) {
            failed = true;
            std::fprintf(
                stderr,
                "error: stream %zu: %llu sequence jumps without a Gap, %llu malformed messages\n",
                i, static_cast<unsigned long long>(c.unexplained),
                static_cast<unsigned long long>(c.malformed));
        }
        if (c.ended_early || c.status.error_code() != grpc::StatusCode::CANCELLED) {
            failed = true;
            std::fprintf(stderr, "error: stream %zu ended with status %d: %s\n", i,
                         static_cast<int>(c.status.error_code()), c.status.error_message().c_str());
        }
        events_total += c.events;
        events_min = std::min(events_min, c.events);
        missed_total += c.missed;
        gaps_total += c.gaps;
        messages_total += c.messages;
        bytes_total += c.bytes;
    }
    const StreamCounts& first = subscribers.front()->counts();
    const std::uint64_t produced =
        first.first_sequence == 0 ? 0 : first.last_sequence - first.first_sequence + 1;
    const double seconds = options.seconds;
    const double n = static_cast<double>(subscribers.size());
    std::printf(
        "summary: subscribers=%d seconds=%.3f events_total=%llu events_per_s_each=%.1f "
        "events_per_s_min=%.1f "
        "missed_total=%llu gaps_total=%llu produced_per_s=%.1f events_per_message=%.1f "
        "bytes_per_event=%.1f failed=%d\n",
        options.subscribers, seconds, static_cast<unsigned long long>(events_total),
        static_cast<double>(events_total) / n / seconds, static_cast<double>(events_min) / seconds,
        static_cast<unsigned long long>(missed_total), static_cast<unsigned long long>(gaps_total),
        static_cast<double>(produced) / seconds,
        messages_total == 0
            ? 0.0
            : static_cast<double>(events_total) / static_cast<double>(messages_total),
        events_total == 0 ? 0.0
                          : static_cast<double>(bytes_total) / static_cast<double>(events_total),
        failed ? 1 : 0);
    return failed ? 2 : 0;
}
