#pragma once
// The standard process_* metrics (CPU, memory, descriptors, start time) read from /proc at scrape
// time; prometheus-cpp has no collector of its own for them.

#include <prometheus/collectable.h>

namespace mproxy::control {

class ProcessCollector final : public prometheus::Collectable {
  public:
    std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace mproxy::control
