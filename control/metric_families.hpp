#pragma once
// Small builders for prometheus-cpp metric families, so collectors read as a list of metrics with
// their help texts rather than as struct plumbing.

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "proxy/accounting/latency_histogram.hpp"

namespace mproxy::control {

using Labels = std::initializer_list<std::pair<std::string, std::string>>;

prometheus::MetricFamily counter_family(std::string name, std::string help);
prometheus::MetricFamily gauge_family(std::string name, std::string help);
prometheus::MetricFamily histogram_family(std::string name, std::string help);

// Adds one sample to a counter or gauge family (by the family's type).
void add_sample(prometheus::MetricFamily& family, Labels labels, double value);
void add_histogram(prometheus::MetricFamily& family, Labels labels,
                   const proxy::HistogramSnapshot& histogram);

}  // namespace mproxy::control
