#pragma once
// A histogram of durations with fixed bucket bounds, written from any thread with relaxed atomics
// (one bucket add, one count add, one sum add per observation) and read as a snapshot when
// /metrics is scraped. Prometheus-shaped: cumulative counts per upper bound, a count and a sum.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace mproxy::proxy {

struct HistogramSnapshot {
    std::vector<double> upper_bounds;       // seconds, ascending; +Inf is implied after the last
    std::vector<std::uint64_t> cumulative;  // observations <= each bound
    std::uint64_t count = 0;                // all observations (the +Inf bucket)
    double sum_seconds = 0;
};

class LatencyHistogram {
  public:
    static constexpr std::size_t max_buckets = 16;

    // Bounds in seconds, ascending, at most max_buckets of them.
    LatencyHistogram(std::initializer_list<double> upper_bounds_seconds);

    void observe(std::chrono::nanoseconds duration);
    HistogramSnapshot snapshot() const;

  private:
    std::array<double, max_buckets> bounds_{};
    std::array<std::int64_t, max_buckets> bounds_ns_{};
    std::size_t bucket_count_ = 0;
    // Per-bucket (not cumulative) counts; the last slot is for observations above every bound.
    std::array<std::atomic<std::uint64_t>, max_buckets + 1> counts_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace mproxy::proxy
