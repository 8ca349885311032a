#pragma once
// A /metrics scrape over real HTTP (libcurl) and a parser of the Prometheus text format, so tests
// read series by name and labels.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mproxy::test {

struct MetricSample {
    std::string name;  // as written: histogram samples keep their _bucket/_sum/_count suffix
    std::map<std::string, std::string> labels;
    double value = 0;
};

class MetricsScrape {
  public:
    // GET http://127.0.0.1:port/metrics; throws std::runtime_error when the scrape fails.
    static MetricsScrape fetch(std::uint16_t port);
    // Parses exposition text; throws std::runtime_error on a line it cannot read.
    explicit MetricsScrape(std::string text);

    const std::string& text() const { return text_; }
    // Samples named `name` whose labels include all of `labels`.
    std::vector<MetricSample> find(const std::string& name,
                                   const std::map<std::string, std::string>& labels = {}) const;
    // The value of the one sample that matches; nullopt when none or several do.
    std::optional<double> value(const std::string& name,
                                const std::map<std::string, std::string>& labels = {}) const;
    // Every sample name present.
    std::set<std::string> names() const;

  private:
    std::string text_;
    std::vector<MetricSample> samples_;
};

}  // namespace mproxy::test
