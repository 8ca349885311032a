#pragma once
// One libcurl easy handle driven the way an application would, with every callback recorded in
// order: status lines, headers, each read-callback call (upload) and each body piece (download).
// Reusing the object for several perform() calls reuses curl's connection, like a real client.

#include <curl/curl.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/payload.hpp"

namespace mproxy::test {

struct TransferEvent {
    enum class Kind { status_line, header, read, body };
    Kind kind;
    std::string text;            // the line (status/header), or the byte count (read/body)
    int status = 0;              // for status_line
    std::uint64_t supplied = 0;  // upload bytes the read callback had handed out by then
};

enum class UploadFraming { content_length, chunked };

class CurlTransfer {
  public:
    CurlTransfer();
    ~CurlTransfer();
    CurlTransfer(const CurlTransfer&) = delete;
    CurlTransfer& operator=(const CurlTransfer&) = delete;

    CURL* handle() { return curl_; }

    void url(const std::string& url);
    // Through the proxy at 127.0.0.1:port; `tunnel`: CONNECT first even for http:// URLs.
    void via_proxy(std::uint16_t port, bool tunnel = false);
    void header(const std::string& line);  // "Name: value", "Name:" removes one of curl's
    void head_request();
    // Uploads `size` reference-payload bytes from the read callback (never from memory).
    void upload(std::uint64_t size, UploadFraming framing, const std::string& method = "POST");
    // Sends "Expect: 100-continue" and waits up to 30 s for the 100; otherwise no Expect at all.
    void expect_continue(bool on) { expect_continue_ = on; }
    // Called from the header callback as each status line arrives.
    void on_status(std::function<void(int)> callback) { on_status_ = std::move(callback); }

    // Runs the transfer; the record of the previous one is cleared first.
    CURLcode perform();

    long response_code();
    long connects_made();  // new connections curl opened in the last perform()
    curl_off_t header_bytes();
    curl_off_t request_bytes();

    const std::vector<TransferEvent>& events() const { return events_; }
    std::vector<int> statuses() const;
    // Headers of the last response head received (final or interim), and lines after the body.
    std::optional<std::string> response_header(std::string_view name) const;
    const std::vector<std::string>& trailer_lines() const { return trailer_lines_; }
    const BodyDigest& body() const { return body_; }
    const std::string& body_text() const { return body_text_; }  // first 64 KiB
    std::uint64_t uploaded() const { return supplied_; }
    const char* error_text() const { return error_; }

    // Index of the first event of `kind` (with `status` for status lines), or -1.
    long first_event(TransferEvent::Kind kind, int status = 0) const;

  private:
    static std::size_t header_callback(char* data, std::size_t size, std::size_t count, void* self);
    static std::size_t write_callback(char* data, std::size_t size, std::size_t count, void* self);
    static std::size_t read_callback(char* data, std::size_t size, std::size_t count, void* self);

    CURL* curl_ = nullptr;
    curl_slist* headers_ = nullptr;
    std::vector<std::string> header_lines_;
    bool expect_continue_ = false;
    std::uint64_t upload_size_ = 0;
    std::function<void(int)> on_status_;
    char error_[CURL_ERROR_SIZE] = {};

    std::vector<TransferEvent> events_;
    std::vector<std::pair<std::string, std::string>> last_headers_;
    std::vector<std::string> trailer_lines_;
    BodyDigest body_;
    std::string body_text_;
    std::uint64_t supplied_ = 0;
};

}  // namespace mproxy::test
