#include "proxy/accounting/latency_histogram.hpp"

#include <stdexcept>

namespace mproxy::proxy {

LatencyHistogram::LatencyHistogram(std::initializer_list<double> upper_bounds_seconds) {
    if (upper_bounds_seconds.size() > max_buckets)
        throw std::invalid_argument("too many histogram buckets");
    for (const double bound : upper_bounds_seconds) {
        if (bucket_count_ > 0 && bound <= bounds_[bucket_count_ - 1])
            throw std::invalid_argument("histogram bounds must ascend");
        bounds_[bucket_count_] = bound;
        bounds_ns_[bucket_count_] = static_cast<std::int64_t>(bound * 1e9);
        ++bucket_count_;
    }
}

void LatencyHistogram::observe(std::chrono::nanoseconds duration) {
    const auto ns = duration.count() < 0 ? 0 : duration.count();
    std::size_t bucket = 0;
    while (bucket < bucket_count_ && ns > bounds_ns_[bucket]) ++bucket;
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

HistogramSnapshot LatencyHistogram::snapshot() const {
    HistogramSnapshot out;
    out.upper_bounds.assign(bounds_.begin(),
                            bounds_.begin() + static_cast<std::ptrdiff_t>(bucket_count_));
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < bucket_count_; ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        out.cumulative.push_back(running);
    }
    // Read apart from the sum: a scrape racing an observation may be off by one, never inconsistent
    // in a way Prometheus rejects (cumulative counts never decrease).
    out.count = running + counts_[bucket_count_].load(std::memory_order_relaxed);
    out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return out;
}

}  // namespace mproxy::proxy
