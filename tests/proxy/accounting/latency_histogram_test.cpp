#include "proxy/accounting/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace mproxy::proxy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LatencyHistogram, CountsCumulativelyWithBoundsInclusive) {
    LatencyHistogram histogram{0.001, 0.01, 0.1};
    histogram.observe(microseconds(500));
    histogram.observe(milliseconds(1));  // on the bound: in the 1 ms bucket (le)
    histogram.observe(milliseconds(5));
    histogram.observe(milliseconds(2000));  // above every bound: only in +Inf
    const auto s = histogram.snapshot();
    EXPECT_EQ(s.upper_bounds, (std::vector<double>{0.001, 0.01, 0.1}));
    EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 3}));
    EXPECT_EQ(s.count, 4u);
    EXPECT_NEAR(s.sum_seconds, 0.0005 + 0.001 + 0.005 + 2.0, 1e-9);
}

TEST(LatencyHistogram, RefusesBoundsThatDoNotAscendOrAreTooMany) {
    EXPECT_THROW((LatencyHistogram{0.1, 0.01}), std::invalid_argument);
    EXPECT_THROW((LatencyHistogram{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}),
                 std::invalid_argument);
}

TEST(LatencyHistogram, ConcurrentObservationsAreAllCounted) {
    LatencyHistogram histogram{0.001, 1};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i)
                histogram.observe(microseconds(i % 2 == 0 ? 10 : 5000));
        });
    for (auto& thread : threads) thread.join();
    const auto s = histogram.snapshot();
    EXPECT_EQ(s.count, 40'000u);
    EXPECT_EQ(s.cumulative[0], 20'000u);
    EXPECT_EQ(s.cumulative[1], 40'000u);
}

}  // namespace
}  // namespace mproxy::proxy
