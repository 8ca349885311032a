#include "tests/support/raw_http_client.hpp"

namespace mproxy::test {

ReadResult RawHttpClient::read_response(bool head_request, Deadline deadline) {
    for (;;) {
        auto parsed = parse_response(buffer_, head_request, peer_closed_);
        if (parsed.outcome == ParseOutcome::complete) {
            buffer_.erase(0, parsed.consumed);
            return {std::move(parsed.response), {}};
        }
        if (parsed.outcome == ParseOutcome::malformed)
            return {std::nullopt, "malformed: " + parsed.error};
        if (peer_closed_) return {std::nullopt, buffer_.empty() ? "closed" : "closed mid-response"};
        const auto status = socket_.read_some(buffer_, deadline);
        if (status == ReadStatus::timeout) return {std::nullopt, "timeout"};
        if (status != ReadStatus::data) peer_closed_ = true;
    }
}

ReadResult RawHttpClient::read_connect_reply(Deadline deadline) {
    while (buffer_.find("\r\n\r\n") == std::string::npos && !peer_closed_) {
        const auto status = socket_.read_some(buffer_, deadline);
        if (status == ReadStatus::timeout) return {std::nullopt, "timeout"};
        if (status != ReadStatus::data) peer_closed_ = true;
    }
    const auto head_only = parse_response(buffer_, /*head_request=*/true, peer_closed_);
    if (head_only.outcome == ParseOutcome::complete && head_only.response.status / 100 == 2)
        return read_response(/*head_request=*/true, deadline);
    return read_response(/*head_request=*/false, deadline);
}

ReadStatus RawHttpClient::wait_closed(std::string* extra, Deadline deadline) {
    std::string sink;
    std::string& out = extra ? *extra : sink;
    out += buffer_;
    buffer_.clear();
    if (peer_closed_) return ReadStatus::eof;
    const auto status = socket_.read_until_closed(out, deadline);
    if (status != ReadStatus::timeout) peer_closed_ = true;
    return status;
}

std::optional<std::string> RawHttpClient::read_raw(std::size_t size, Deadline deadline) {
    if (!socket_.read_exactly(buffer_, size, deadline) && buffer_.size() < size)
        return std::nullopt;
    std::string out = buffer_.substr(0, size);
    buffer_.erase(0, size);
    return out;
}

std::string absolute_get(std::string_view authority, std::string_view path,
                         std::string_view extra_headers) {
    std::string request = "GET http://";
    request.append(authority).append(path).append(" HTTP/1.1\r\nHost: ");
    request.append(authority).append("\r\n").append(extra_headers).append("\r\n");
    return request;
}

}  // namespace mproxy::test
