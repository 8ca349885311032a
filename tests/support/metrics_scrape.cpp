#include "tests/support/metrics_scrape.hpp"

#include <curl/curl.h>

#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace mproxy::test {

namespace {

std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

// Reads `name{label="value",...} number` starting at `line`.
MetricSample parse_sample(const std::string& line) {
    MetricSample sample;
    std::size_t at = 0;
    while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
    sample.name = line.substr(0, at);
    if (at < line.size() && line[at] == '{') {
        ++at;
        while (at < line.size() && line[at] != '}') {
            const auto equals = line.find('=', at);
            if (equals == std::string::npos || equals + 1 >= line.size() || line[equals + 1] != '"')
                throw std::runtime_error("bad label in: " + line);
            const auto label = line.substr(at, equals - at);
            std::string value;
            at = equals + 2;
            for (; at < line.size() && line[at] != '"'; ++at) {
                if (line[at] == '\\' && at + 1 < line.size()) {
                    ++at;
                    value += line[at] == 'n' ? '\n' : line[at];
                } else {
                    value += line[at];
                }
            }
            if (at >= line.size()) throw std::runtime_error("unterminated label value in: " + line);
            sample.labels[label] = value;
            ++at;  // the closing quote
            if (at < line.size() && line[at] == ',') ++at;
        }
        if (at >= line.size()) throw std::runtime_error("unterminated labels in: " + line);
        ++at;  // '}'
    }
    std::istringstream rest(line.substr(at));
    std::string number;
    if (!(rest >> number)) throw std::runtime_error("no value in: " + line);
    sample.value = number == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(number);
    return sample;
}

}  // namespace

MetricsScrape MetricsScrape::fetch(std::uint16_t port) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    std::string body;
    const auto url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    const auto code = curl_easy_perform(curl.get());
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK || status != 200)
        throw std::runtime_error("scraping " + url + " failed: " + curl_easy_strerror(code) +
                                 ", status " + std::to_string(status));
    return MetricsScrape(std::move(body));
}

MetricsScrape::MetricsScrape(std::string text) : text_(std::move(text)) {
    std::istringstream lines(text_);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line.front() == '#') continue;
        samples_.push_back(parse_sample(line));
    }
}

std::vector<MetricSample> MetricsScrape::find(
    const std::string& name, const std::map<std::string, std::string>& labels) const {
    std::vector<MetricSample> out;
    for (const auto& sample : samples_) {
        if (sample.name != name) continue;
        bool all = true;
        for (const auto& [label, value] : labels) {
            const auto found = sample.labels.find(label);
            // An empty label value is the same as no label in Prometheus.
            const auto actual = found == sample.labels.end() ? std::string() : found->second;
            if (actual != value) all = false;
        }
        if (all) out.push_back(sample);
    }
    return out;
}

std::optional<double> MetricsScrape::value(const std::string& name,
                                           const std::map<std::string, std::string>& labels) const {
    const auto matches = find(name, labels);
    if (matches.size() != 1) return std::nullopt;
    return matches.front().value;
}

std::set<std::string> MetricsScrape::names() const {
    std::set<std::string> out;
    for (const auto& sample : samples_) out.insert(sample.name);
    return out;
}

}  // namespace mproxy::test
