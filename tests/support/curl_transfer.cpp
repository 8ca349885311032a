#include "tests/support/curl_transfer.hpp"

#include <mutex>
#include <span>
#include <stdexcept>

#include "tests/support/raw_response_parser.hpp"

namespace mproxy::test {

namespace {
void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string trim_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    return std::string(line);
}
}  // namespace

CurlTransfer::CurlTransfer() {
    global_init_once();
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &CurlTransfer::header_callback);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlTransfer::write_callback);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &CurlTransfer::read_callback);
    curl_easy_setopt(curl_, CURLOPT_READDATA, this);
    curl_easy_setopt(curl_, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "");
}

CurlTransfer::~CurlTransfer() {
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
}

void CurlTransfer::url(const std::string& url) {
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
}

void CurlTransfer::via_proxy(std::uint16_t port, bool tunnel) {
    const std::string proxy = "http://127.0.0.1:" + std::to_string(port);
    curl_easy_setopt(curl_, CURLOPT_PROXY, proxy.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPPROXYTUNNEL, tunnel ? 1L : 0L);
    // The proxy's answer to CONNECT is not part of the exchange the tests look at.
    curl_easy_setopt(curl_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
}

void CurlTransfer::header(const std::string& line) {
    header_lines_.push_back(line);
}

void CurlTransfer::head_request() {
    curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
}

void CurlTransfer::upload(std::uint64_t size, UploadFraming framing, const std::string& method) {
    upload_size_ = size;
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    if (method != "POST") curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (framing == UploadFraming::content_length) {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
    } else {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
        header("Transfer-Encoding: chunked");
    }
}

CURLcode CurlTransfer::perform() {
    events_.clear();
    last_headers_.clear();
    trailer_lines_.clear();
    body_ = {};
    body_text_.clear();
    supplied_ = 0;
    error_[0] = 0;
    curl_slist_free_all(headers_);
    headers_ = nullptr;
    for (const auto& line : header_lines_) headers_ = curl_slist_append(headers_, line.c_str());
    headers_ = curl_slist_append(headers_, expect_continue_ ? "Expect: 100-continue" : "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    return curl_easy_perform(curl_);
}

long CurlTransfer::response_code() {
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

long CurlTransfer::connects_made() {
    long n = 0;
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &n);
    return n;
}

curl_off_t CurlTransfer::header_bytes() {
    long n = 0;
    curl_easy_getinfo(curl_, CURLINFO_HEADER_SIZE, &n);
    return n;
}

curl_off_t CurlTransfer::request_bytes() {
    long n = 0;
    curl_easy_getinfo(curl_, CURLINFO_REQUEST_SIZE, &n);
    return n;
}

std::vector<int> CurlTransfer::statuses() const {
    std::vector<int> out;
    for (const auto& e : events_)
        if (e.kind == TransferEvent::Kind::status_line) out.push_back(e.status);
    return out;
}

std::optional<std::string> CurlTransfer::response_header(std::string_view name) const {
    for (const auto& [n, v] : last_headers_)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

long CurlTransfer::first_event(TransferEvent::Kind kind, int status) const {
    for (std::size_t i = 0; i < events_.size(); ++i)
        if (events_[i].kind == kind &&
            (kind != TransferEvent::Kind::status_line || events_[i].status == status))
            return static_cast<long>(i);
    return -1;
}

std::size_t CurlTransfer::header_callback(char* data, std::size_t size, std::size_t count,
                                          void* self_ptr) {
    auto& self = *static_cast<CurlTransfer*>(self_ptr);
    const std::string line = trim_line(std::string_view(data, size * count));
    const bool after_body = self.first_event(TransferEvent::Kind::body) >= 0;
    if (line.rfind("HTTP/", 0) == 0 && line.size() >= 12) {
        const int status = std::stoi(line.substr(9, 3));
        self.events_.push_back({TransferEvent::Kind::status_line, line, status, self.supplied_});
        self.last_headers_.clear();
        if (self.on_status_) self.on_status_(status);
    } else if (!line.empty()) {
        self.events_.push_back({TransferEvent::Kind::header, line, 0, self.supplied_});
        if (after_body) self.trailer_lines_.push_back(line);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            self.last_headers_.emplace_back(line.substr(0, colon), value);
        }
    }
    return size * count;
}

std::size_t CurlTransfer::write_callback(char* data, std::size_t size, std::size_t count,
                                         void* self_ptr) {
    auto& self = *static_cast<CurlTransfer*>(self_ptr);
    const std::size_t n = size * count;
    if (self.first_event(TransferEvent::Kind::body) < 0 ||
        self.events_.back().kind != TransferEvent::Kind::body)
        self.events_.push_back({TransferEvent::Kind::body, std::to_string(n), 0, self.supplied_});
    self.body_.update(std::span<const char>(data, n));
    if (self.body_text_.size() < 64 * 1024)
        self.body_text_.append(data, std::min<std::size_t>(n, 64 * 1024));
    return n;
}

std::size_t CurlTransfer::read_callback(char* data, std::size_t size, std::size_t count,
                                        void* self_ptr) {
    auto& self = *static_cast<CurlTransfer*>(self_ptr);
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>(size * count, self.upload_size_ - self.supplied_));
    fill_payload(self.supplied_, std::span<char>(data, n));
    self.supplied_ += n;
    self.events_.push_back({TransferEvent::Kind::read, std::to_string(n), 0, self.supplied_});
    return n;
}

}  // namespace mproxy::test
