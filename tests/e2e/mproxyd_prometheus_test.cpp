// mproxyd scraped by a real Prometheus server: `up` is 1, a PromQL query over the HTTP API returns
// a connection's exact bytes, promtool accepts the exposition, and every metric a Grafana
// dashboard queries exists in a real scrape of a server that carried traffic.

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "tests/e2e/child_process.hpp"
#include "tests/support/blocking_socket.hpp"
#include "tests/support/metrics_scrape.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/temporary_directory.hpp"
#include "tests/support/test_origin.hpp"

namespace mproxy::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

// GET over loopback, never through a proxy from the environment; "" when it fails.
std::string http_get(const std::string& url) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    std::string body;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PROXY, "");
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    return curl_easy_perform(curl.get()) == CURLE_OK ? body : std::string();
}

std::uint16_t free_port() {
    LoopbackListener probe;
    return probe
        .port();  // closed again when `probe` goes: a small window another process could take
}

struct Mproxyd {
    explicit Mproxyd(const fs::path& state) {
        process = std::make_unique<ChildProcess>(
            std::vector<std::string>{MPROXYD_PATH, "--listen", "127.0.0.1:0", "--control-listen",
                                     "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                     "--connect-action", "reject", "--state-dir", state.string()});
        if (!process->wait_for_output("metrics (Prometheus) on", 20s))
            throw std::runtime_error("mproxyd did not start: " + process->output());
        const auto out = process->output();
        std::smatch m;
        if (!std::regex_search(out, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)")))
            throw std::runtime_error(out);
        proxy_port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
        if (!std::regex_search(
                out, m,
                std::regex("metrics \\(Prometheus\\) on http://127\\.0\\.0\\.1:([0-9]+)/metrics")))
            throw std::runtime_error(out);
        metrics_port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    }
    std::unique_ptr<ChildProcess> process;
    std::uint16_t proxy_port = 0, metrics_port = 0;
};

// A Prometheus server scraping one target every second, its data in `dir`.
struct PrometheusServer {
    PrometheusServer(const fs::path& dir, std::uint16_t target_port) : port(free_port()) {
        const auto config = dir / "prometheus.yml";
        std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                 "scrape_configs:\n  - job_name: mproxy\n    static_configs:\n"
                                 "      - targets: ['127.0.0.1:"
                              << target_port << "']\n";
        process = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + config.string(),
                                     "--storage.tsdb.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port)});
    }
    // The value of the one series an instant query returns, nullopt when it returns none.
    std::optional<double> query(const std::string& promql) const {
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                                 curl_easy_cleanup);
        std::unique_ptr<char, decltype(&curl_free)> escaped(
            curl_easy_escape(curl.get(), promql.c_str(), static_cast<int>(promql.size())),
            curl_free);
        const auto body = http_get("http://127.0.0.1:" + std::to_string(port) +
                                   "/api/v1/query?query=" + escaped.get());
        if (body.empty()) return std::nullopt;
        const auto answer = nlohmann::json::parse(body, nullptr, false);
        if (answer.is_discarded() || answer.value("status", "") != "success") return std::nullopt;
        const auto& result = answer["data"]["result"];
        if (!result.is_array() || result.size() != 1) return std::nullopt;
        return std::stod(result[0]["value"][1].get<std::string>());
    }
    // Queries until the answer is `expected`; the last answer otherwise.
    std::optional<double> query_until(const std::string& promql, double expected,
                                      std::chrono::seconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            auto value = query(promql);
            if ((value && *value == expected) || std::chrono::steady_clock::now() > deadline)
                return value;
            std::this_thread::sleep_for(200ms);
        }
    }
    std::uint16_t port;
    std::unique_ptr<ChildProcess> process;
};

// Metric names a PromQL expression uses (mproxy's and the process metrics).
std::set<std::string> metric_names(const std::string& expression) {
    static const std::regex name("\\b(?:mproxy|process)_[a-zA-Z0-9_]+");
    std::set<std::string> out;
    for (std::sregex_iterator it(expression.begin(), expression.end(), name), end; it != end; ++it)
        out.insert(it->str());
    return out;
}

void collect_expressions(const nlohmann::json& node, std::vector<std::string>& out) {
    if (node.is_object()) {
        for (const auto& [key, value] : node.items()) {
            if ((key == "expr" || key == "query" || key == "definition") && value.is_string())
                out.push_back(value.get<std::string>());
            else
                collect_expressions(value, out);
        }
    } else if (node.is_array()) {
        for (const auto& item : node) collect_expressions(item, out);
    }
}

class MproxydPrometheus : public ::testing::Test {
  protected:
    void SetUp() override {
        mproxyd = std::make_unique<Mproxyd>(state.path() / "state");
        // Traffic with known bytes on a connection kept open: one plain exchange...
        client = std::make_unique<RawHttpClient>(mproxyd->proxy_port);
        request = absolute_get(origin.authority(), "/bytes/321");
        client->send(request);
        auto reply = client->read_response();
        ASSERT_TRUE(reply.response) << reply.error;
        ASSERT_EQ(reply.response->status, 200);
        response_size = reply.response->wire.size();
        // ...and a CONNECT the default action refuses, so rejects have a series too.
        RawHttpClient refused(mproxyd->proxy_port);
        refused.send("CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        auto answer = refused.read_connect_reply();
        ASSERT_TRUE(answer.response) << answer.error;
        ASSERT_EQ(answer.response->status, 403);
    }

    TemporaryDirectory state{"mproxy-e2e-prometheus"};
    TestOrigin origin;
    std::unique_ptr<Mproxyd> mproxyd;
    std::unique_ptr<RawHttpClient> client;
    std::string request;
    std::size_t response_size = 0;
};

TEST_F(MproxydPrometheus, APrometheusServerScrapesItAndSeesAConnectionsExactBytes) {
    PrometheusServer prometheus(state.path(), mproxyd->metrics_port);
    const auto up = prometheus.query_until("up{job=\"mproxy\"}", 1, 60s);
    ASSERT_EQ(up, 1.0) << "Prometheus never scraped mproxyd successfully:\n"
                       << prometheus.process->output();
    const auto selector =
        "{job=\"mproxy\",target=\"" + origin.authority() + "\",mode=\"plain\",direction=";
    EXPECT_EQ(prometheus.query_until("mproxy_connection_bytes_total" + selector + "\"client_rx\"}",
                                     static_cast<double>(request.size()), 30s),
              static_cast<double>(request.size()));
    EXPECT_EQ(prometheus.query_until("mproxy_connection_bytes_total" + selector + "\"client_tx\"}",
                                     static_cast<double>(response_size), 30s),
              static_cast<double>(response_size));
    EXPECT_EQ(prometheus.query_until("sum(mproxy_rejects_total{job=\"mproxy\",rule=\"(default)\"})",
                                     1, 30s),
              1.0);
}

TEST_F(MproxydPrometheus, PromtoolAcceptsTheExposition) {
    const auto scrape = MetricsScrape::fetch(mproxyd->metrics_port);
    const auto file = state.path() / "scrape.txt";
    std::ofstream(file) << scrape.text();
    const auto check = run_command(
        {"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + file.string() + "' 2>&1"}, 30s);
    EXPECT_EQ(check.status, 0) << check.out;
    EXPECT_EQ(check.out, "") << "promtool found problems";
}

TEST_F(MproxydPrometheus, EveryMetricTheDashboardsQueryExistsInARealScrape) {
    const auto scrape = MetricsScrape::fetch(mproxyd->metrics_port);
    const auto exported = scrape.names();
    const fs::path dashboards = fs::path(MPROXY_SOURCE_DIR) / "deploy" / "grafana";
    std::size_t files = 0, names = 0;
    for (const auto& entry : fs::directory_iterator(dashboards)) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        std::ifstream in(entry.path());
        const auto dashboard = nlohmann::json::parse(in, nullptr, false);
        ASSERT_FALSE(dashboard.is_discarded()) << entry.path() << " is not JSON";
        std::vector<std::string> expressions;
        collect_expressions(dashboard, expressions);
        EXPECT_FALSE(expressions.empty()) << entry.path();
        for (const auto& expression : expressions)
            for (const auto& name : metric_names(expression)) {
                ++names;
                EXPECT_TRUE(exported.contains(name))
                    << entry.path().filename() << " queries " << name
                    << ", which mproxyd does not export:\n  " << expression;
            }
    }
    EXPECT_EQ(files, 4u) << "overview, connections, interception, control plane";
    EXPECT_GT(names, 40u);
}

}  // namespace
}  // namespace mproxy::test
