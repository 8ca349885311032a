#include "control/metric_families.hpp"

#include <limits>

namespace mproxy::control {

namespace {
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
}

prometheus::ClientMetric with_labels(Labels labels) {
    prometheus::ClientMetric metric;
    metric.label.reserve(labels.size());
    for (const auto& [name, value] : labels) metric.label.push_back({name, value});
    return metric;
}
}  // namespace

prometheus::MetricFamily counter_family(std::string name, std::string help) {
    return family(std::move(name), std::move(help), prometheus::MetricType::Counter);
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
    return family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

prometheus::MetricFamily histogram_family(std::string name, std::string help) {
    return family(std::move(name), std::move(help), prometheus::MetricType::Histogram);
}

void add_sample(prometheus::MetricFamily& family, Labels labels, double value) {
    auto metric = with_labels(labels);
    if (family.type == prometheus::MetricType::Counter)
        metric.counter.value = value;
    else
        metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
}

void add_histogram(prometheus::MetricFamily& family, Labels labels,
                   const proxy::HistogramSnapshot& histogram) {
    auto metric = with_labels(labels);
    metric.histogram.sample_count = histogram.count;
    metric.histogram.sample_sum = histogram.sum_seconds;
    for (std::size_t i = 0; i < histogram.upper_bounds.size(); ++i)
        metric.histogram.bucket.push_back({histogram.cumulative[i], histogram.upper_bounds[i]});
    // The serializer writes the buckets it is given: +Inf must be one of them.
    metric.histogram.bucket.push_back({histogram.count, std::numeric_limits<double>::infinity()});
    family.metric.push_back(std::move(metric));
}

}  // namespace mproxy::control
