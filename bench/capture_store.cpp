// How many exchanges a second the capture store commits. Producers keep its queue full with
// captures shaped like a browser's HTTPS GET (request and response heads of about 15 fields each,
// a 103 before the 200, timings); when the queue refuses one, they back off briefly and offer it
// again, so what is measured is the writer, not the producers. Run on the disk the state
// directory lives on.
//
//   bench_capture_store [--seconds S] [--body-bytes N] [--dir DIR]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "proxy/capture/capture_codec.hpp"
#include "proxy/capture/capture_store.hpp"

namespace {

using namespace mproxy::proxy;

CapturedExchange browser_get(std::uint64_t id, std::size_t body_bytes) {
    CapturedExchange e;
    e.flow_id = id;
    e.connection_id = id / 10 + 1;
    e.started = std::chrono::system_clock::now();
    e.client = "10.1.2.3:51234";
    e.mode = ConnectionMode::mitm;
    e.host = "static.example.com";
    e.port = 443;
    e.server_address = "93.184.216.34";
    e.request.method = "GET";
    e.request.target = "/assets/app.3f9c2b.js?v=" + std::to_string(id);
    const char* request_fields[][2] = {
        {"Host", "static.example.com"},
        {"User-Agent",
         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
         "Safari/537.36"},
        {"Accept", "*/*"},
        {"Accept-Language", "en-GB,en;q=0.9"},
        {"Accept-Encoding", "gzip, deflate, br, zstd"},
        {"Referer", "https://www.example.com/"},
        {"Sec-Fetch-Dest", "script"},
        {"Sec-Fetch-Mode", "no-cors"},
        {"Sec-Fetch-Site", "same-site"},
        {"Cookie", "[redacted: 212 bytes]"},
        {"If-None-Match", "\"5e1f-18c3a1b2\""},
        {"Cache-Control", "no-cache"},
        {"Pragma", "no-cache"},
        {"Via", "1.1 mproxy"},
    };
    for (const auto& f : request_fields) e.request.fields.add(f[0], f[1]);
    ResponseHead hints;
    hints.status = 103;
    hints.reason = "Early Hints";
    hints.fields.add("Link", "</assets/app.css>; rel=preload; as=style");
    e.interim.push_back(hints);
    e.response.status = 200;
    e.response.reason = "OK";
    const char* response_fields[][2] = {
        {"Date", "Thu, 03 Dec 2026 12:00:00 GMT"},
        {"Content-Type", "application/javascript; charset=utf-8"},
        {"Content-Length", "48213"},
        {"Connection", "keep-alive"},
        {"Cache-Control", "public, max-age=31536000, immutable"},
        {"ETag", "\"5e1f-18c3a1b3\""},
        {"Last-Modified", "Wed, 02 Dec 2026 09:14:00 GMT"},
        {"Content-Encoding", "br"},
        {"Vary", "Accept-Encoding"},
        {"Server", "nginx"},
        {"Strict-Transport-Security", "max-age=63072000"},
        {"X-Content-Type-Options", "nosniff"},
        {"Access-Control-Allow-Origin", "*"},
        {"Age", "1234"},
        {"X-Cache", "HIT"},
    };
    for (const auto& f : response_fields) e.response.fields.add(f[0], f[1]);
    for (auto* body : {&e.request_body, &e.response_body}) {
        body->captured = body_bytes > 0;
        body->bytes = std::string(body_bytes, 'x');
        body->length = body_bytes;
    }
    e.timings = {-1, -1, 12, 4100, 350};
    e.request_bytes = 612;
    e.response_bytes = 48700;
    e.duration = std::chrono::microseconds(4462);
    return e;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 10;
    std::size_t body_bytes = 0;
    std::filesystem::path dir = std::filesystem::temp_directory_path();
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--seconds"))
            seconds = std::atof(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--body-bytes"))
            body_bytes = std::strtoull(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: %s [--seconds S] [--body-bytes N] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    const auto file = dir / ("bench-captures-" + std::to_string(::getpid()) + ".db");

    // Baseline of the same run: encoding the detail alone, the CPU work that is not SQLite's.
    const auto sample = browser_get(1, body_bytes);
    std::size_t detail_bytes = 0;
    const auto encode_start = std::chrono::steady_clock::now();
    constexpr int encodes = 200'000;
    for (int i = 0; i < encodes; ++i) detail_bytes += encode_capture_detail(sample).size();
    const double encode_rate =
        encodes /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - encode_start).count();

    CaptureStoreStats stats;
    double elapsed = 0;
    {
        CaptureStoreConfig config;
        config.file = file;
        CaptureStore store(config);
        std::atomic<bool> stop{false};
        std::atomic<std::uint64_t> next_id{1}, retries{0};
        std::vector<std::thread> producers;
        const auto start = std::chrono::steady_clock::now();
        for (int p = 0; p < 2; ++p)
            producers.emplace_back([&] {
                while (!stop.load(std::memory_order_relaxed)) {
                    const auto id = next_id.fetch_add(1);
                    // Encoded by the producer, as the data plane does.
                    const auto record = capture_record(browser_get(id, body_bytes));
                    while (!store.submit(record)) {
                        retries.fetch_add(1);
                        if (stop.load(std::memory_order_relaxed)) return;
                        std::this_thread::sleep_for(std::chrono::microseconds(200));
                    }
                }
            });
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        stop = true;
        for (auto& t : producers) t.join();
        store.flush();
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        stats = store.stats();
    }
    const auto file_bytes = std::filesystem::file_size(file);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);

    std::printf("capture store, %zu-byte bodies both ways, %.0f s on %s\n", body_bytes, elapsed,
                dir.c_str());
    std::printf("  stored            %12.0f exchanges/s (%llu in all)\n", stats.stored / elapsed,
                static_cast<unsigned long long>(stats.stored));
    std::printf("  encode only       %12.0f exchanges/s (baseline, same run; %zu-byte detail)\n",
                encode_rate, detail_bytes / encodes);
    std::printf("  ratio             %12.3f of the encoding rate\n",
                stats.stored / elapsed / encode_rate);
    std::printf("  store file        %12.1f MiB, budget count %.1f MiB\n", file_bytes / 1048576.0,
                stats.bytes / 1048576.0);
    std::printf(
        "  refused (retried) %12llu, write errors %llu\n",
        static_cast<unsigned long long>(stats.dropped_queue_full),
        static_cast<unsigned long long>(stats.dropped_write_error + stats.dropped_disk_full));
    return 0;
}
