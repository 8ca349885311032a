#include "control/har_document.hpp"

#include <openssl/evp.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "control/capture_translation.hpp"
#include "proxy/capture/content_decoding.hpp"

namespace mproxy::control {

namespace {

using nlohmann::json;

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t extra;
        std::uint32_t min;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            extra = 1;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            min = 0x10000;
        } else {
            return false;
        }
        if (i + extra >= s.size()) return false;
        std::uint32_t code = c & (0x3f >> extra);
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(s[i + k]);
            if ((next & 0xc0) != 0x80) return false;
            code = (code << 6) | (next & 0x3f);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
        i += extra + 1;
    }
    return true;
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return text;
}

json fields_json(const proxy::HeaderFields& fields) {
    json out = json::array();
    for (const auto& f : fields.all()) out.push_back({{"name", f.name}, {"value", f.value}});
    return out;
}

bool redacted(std::string_view value) {
    return value.starts_with("[redacted:");
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Cookie: a=1; b=2
json request_cookies(const proxy::HeaderFields& fields) {
    json out = json::array();
    for (const auto& f : fields.all()) {
        if (!proxy::iequals(f.name, "cookie") || redacted(f.value)) continue;
        std::string_view rest = f.value;
        while (!rest.empty()) {
            const auto semi = rest.find(';');
            const auto pair = trim(rest.substr(0, semi));
            if (const auto eq = pair.find('='); eq != std::string_view::npos)
                out.push_back({{"name", std::string(trim(pair.substr(0, eq)))},
                               {"value", std::string(trim(pair.substr(eq + 1)))}});
            if (semi == std::string_view::npos) break;
            rest.remove_prefix(semi + 1);
        }
    }
    return out;
}

// Set-Cookie: a=1; Path=/; HttpOnly
json response_cookies(const proxy::HeaderFields& fields) {
    json out = json::array();
    for (const auto& f : fields.all()) {
        if (!proxy::iequals(f.name, "set-cookie") || redacted(f.value)) continue;
        std::string_view rest = f.value;
        const auto semi = rest.find(';');
        const auto pair = trim(rest.substr(0, semi));
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        json cookie = {{"name", std::string(trim(pair.substr(0, eq)))},
                       {"value", std::string(trim(pair.substr(eq + 1)))}};
        rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
        while (!rest.empty()) {
            const auto next = rest.find(';');
            const auto attribute = trim(rest.substr(0, next));
            const auto aeq = attribute.find('=');
            const auto name = std::string(trim(attribute.substr(0, aeq)));
            const auto value = aeq == std::string_view::npos
                                   ? std::string()
                                   : std::string(attribute.substr(aeq + 1));
            if (proxy::iequals(name, "path"))
                cookie["path"] = value;
            else if (proxy::iequals(name, "domain"))
                cookie["domain"] = value;
            else if (proxy::iequals(name, "expires"))
                cookie["_expires"] = value;
            else if (proxy::iequals(name, "httponly"))
                cookie["httpOnly"] = true;
            else if (proxy::iequals(name, "secure"))
                cookie["secure"] = true;
            if (next == std::string_view::npos) break;
            rest.remove_prefix(next + 1);
        }
        out.push_back(std::move(cookie));
    }
    return out;
}

json query_string(std::string_view target) {
    json out = json::array();
    const auto question = target.find('?');
    if (question == std::string_view::npos) return out;
    auto query = target.substr(question + 1);
    if (const auto hash = query.find('#'); hash != std::string_view::npos)
        query = query.substr(0, hash);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            out.push_back(
                {{"name", std::string(pair.substr(0, eq))},
                 {"value", eq == std::string_view::npos ? std::string()
                                                        : std::string(pair.substr(eq + 1))}});
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

std::string url_of(const proxy::CapturedExchange& e) {
    const auto& target = e.request.target;
    if (target.starts_with("http://") || target.starts_with("https://")) return target;
    const bool tls = e.mode == proxy::ConnectionMode::mitm;
    std::string url = tls ? "https://" : "http://";
    // Appended piece by piece: GCC 12 misreads `"x" + string` here (a false -Werror=restrict).
    const bool ipv6 = e.host.find(':') != std::string::npos;
    if (ipv6) url += '[';
    url += e.host;
    if (ipv6) url += ']';
    if (e.port != (tls ? 443 : 80)) {
        url += ':';
        url += std::to_string(e.port);
    }
    if (target.empty() || target.front() != '/') url += '/';
    url += target;
    return url;
}

template <class Head>
long long head_size(const Head& head, bool fields_captured) {
    if (!fields_captured) return -1;
    std::string bytes;
    proxy::append_head(bytes, head);
    return static_cast<long long>(bytes.size());
}

double ms(std::int64_t us) {
    return us < 0 ? -1 : static_cast<double>(us) / 1000.0;
}

std::string field_or(const proxy::HeaderFields& fields, std::string_view name,
                     std::string fallback) {
    const auto* value = fields.find(name);
    return value ? *value : fallback;
}

}  // namespace

HarBodyText har_body_text(const proxy::CapturedBody& body, const std::string& content_encoding,
                          const HarOptions& options) {
    HarBodyText out;
    const bool truncated = body.length > body.bytes.size();
    std::string decoded;
    bool decoded_ok = true;
    if (content_encoding.empty() || !proxy::can_decode(content_encoding)) {
        decoded = body.bytes;
        if (!content_encoding.empty())
            out.comment = "Content-Encoding \"" + content_encoding + "\" not decoded";
    } else {
        try {
            proxy::ContentDecoder decoder(content_encoding, body.bytes);
            char buffer[64 * 1024];
            while (const auto n = decoder.read(buffer, sizeof buffer)) {
                if (decoded.size() + n > options.max_decoded_bytes) {
                    decoded_ok = false;
                    out.comment = "not decoded: the body decodes to more than " +
                                  std::to_string(options.max_decoded_bytes) + " bytes";
                    break;
                }
                decoded.append(buffer, n);
            }
            // A coding cut short in a body captured whole: what decoded, said to be partial.
            if (decoded_ok && !truncated && !decoder.ended_cleanly())
                out.comment = "the " + content_encoding + " coding ends early: " +
                              std::to_string(decoded.size()) + " bytes decoded";
        } catch (const proxy::ContentDecodingError& e) {
            decoded_ok = false;
            out.comment = std::string("not decoded: ") + e.what();
        }
        if (!decoded_ok) decoded = body.bytes;
    }
    if (truncated) {
        if (!out.comment.empty()) out.comment += "; ";
        out.comment += "truncated: the first " + std::to_string(body.bytes.size()) + " of " +
                       std::to_string(body.length) + " bytes were captured";
    }
    out.decoded_size = decoded.size();
    if (decoded_ok && valid_utf8(decoded)) {
        out.text = std::move(decoded);
    } else {
        out.text = base64(decoded);
        out.base64 = true;
    }
    return out;
}

std::string har_opening(const std::string& mproxy_version) {
    const json creator = {{"name", "mproxy"}, {"version", mproxy_version}};
    return R"({"log":{"version":"1.2","creator":)" + creator.dump() + R"(,"pages":[],"entries":[)";
}

std::string har_closing() {
    return "]}}\n";
}

std::string har_entry(const proxy::CapturedExchange& e, const HarOptions& options, bool first) {
    const auto& t = e.timings;
    // HAR's connect includes the TLS handshake, given again on its own as ssl.
    const double connect =
        t.connect_us < 0 ? -1 : ms(t.connect_us) + (t.tls_us > 0 ? ms(t.tls_us) : 0.0);
    const double send = std::max(0.0, ms(t.send_us)), wait = std::max(0.0, ms(t.wait_us)),
                 receive = std::max(0.0, ms(t.receive_us));
    const double time = std::max(0.0, connect) + send + wait + receive;

    json request = {
        {"method", e.request.method},
        {"url", url_of(e)},
        {"httpVersion", http_version_text(e.request.version_minor)},
        {"cookies", request_cookies(e.request.fields)},
        {"headers", fields_json(e.request.fields)},
        {"queryString", query_string(e.request.target)},
        {"headersSize", head_size(e.request, e.fields_captured)},
        {"bodySize", static_cast<long long>(e.request_body.length)},
    };
    if (!e.request_trailers.all().empty()) request["_trailers"] = fields_json(e.request_trailers);
    if (e.request_body.length > 0) {
        json post = {{"mimeType", field_or(e.request.fields, "content-type", "")}};
        if (e.request_body.captured) {
            const auto body = har_body_text(
                e.request_body, field_or(e.request.fields, "content-encoding", ""), options);
            post["text"] = body.text;
            if (body.base64) post["_encoding"] = "base64";
            if (!body.comment.empty()) post["comment"] = body.comment;
        } else {
            post["text"] = "";
            post["comment"] = "body not captured (the capture policy keeps none)";
        }
        request["postData"] = std::move(post);
    }

    json content = {
        {"size", static_cast<long long>(e.response_body.length)},
        {"mimeType", field_or(e.response.fields, "content-type", "x-unknown")},
    };
    if (e.response_body.captured && e.response_body.length > 0) {
        const auto encoding = field_or(e.response.fields, "content-encoding", "");
        auto body = har_body_text(e.response_body, encoding, options);
        // HAR's size is the decoded body's; compression, the bytes the coding saved.
        if (!e.response_body.truncated() && body.comment.empty()) {
            content["size"] = static_cast<long long>(body.decoded_size);
            if (body.decoded_size > e.response_body.length)
                content["compression"] =
                    static_cast<long long>(body.decoded_size - e.response_body.length);
        }
        content["text"] = std::move(body.text);
        if (body.base64) content["encoding"] = "base64";
        if (!body.comment.empty()) content["comment"] = body.comment;
    } else if (e.response_body.length > 0) {
        content["comment"] = "body not captured (the capture policy keeps none)";
    }
    json response = {
        {"status", e.response.status},
        {"statusText", e.response.reason},
        {"httpVersion", http_version_text(e.response.version_minor)},
        {"cookies", response_cookies(e.response.fields)},
        {"headers", fields_json(e.response.fields)},
        {"content", std::move(content)},
        {"redirectURL", field_or(e.response.fields, "location", "")},
        {"headersSize", e.answered_by_proxy ? -1 : head_size(e.response, e.fields_captured)},
        {"bodySize", static_cast<long long>(e.response_body.length)},
    };
    if (!e.response_trailers.all().empty())
        response["_trailers"] = fields_json(e.response_trailers);
    if (!e.interim.empty()) {
        json interim = json::array();
        for (const auto& head : e.interim)
            interim.push_back({{"status", head.status},
                               {"statusText", head.reason},
                               {"headers", fields_json(head.fields)}});
        response["_interimResponses"] = std::move(interim);
    }
    if (e.answered_by_proxy)
        response["comment"] =
            "answered by mproxy, not the origin" + (e.error.empty() ? "" : ": " + e.error);

    json entry = {
        {"startedDateTime", iso8601(e.started)},
        {"time", time},
        {"request", std::move(request)},
        {"response", std::move(response)},
        {"cache", json::object()},
        {"timings",
         {{"blocked", -1},
          {"dns", -1},
          {"connect", connect},
          {"ssl", ms(t.tls_us)},
          {"send", send},
          {"wait", wait},
          {"receive", receive}}},
        {"connection", std::to_string(e.connection_id)},
        {"_flowId", e.flow_id},
    };
    if (!e.server_address.empty()) entry["serverIPAddress"] = e.server_address;
    if (!e.websocket.messages.empty()) {
        // The convention Chrome, HTTP Toolkit and mitmproxy share: type, time (seconds since the
        // epoch), opcode, data (text, or base64 for binary payloads).
        json messages = json::array();
        for (const auto& m : e.websocket.messages) {
            const double time =
                std::chrono::duration<double>(m.time.time_since_epoch()).count();
            const bool text = m.opcode == 1 && !m.compressed && valid_utf8(m.payload);
            json message = {{"type", m.from_client ? "send" : "receive"},
                            {"time", time},
                            {"opcode", m.opcode},
                            {"data", text ? m.payload : base64(m.payload)}};
            if (m.truncated()) message["_length"] = m.length;
            if (m.opcode == 8) {
                message["_closeCode"] = m.close_code;
                message["_closeReason"] = m.close_reason;
            }
            messages.push_back(std::move(message));
        }
        entry["_webSocketMessages"] = std::move(messages);
    }
    if (!e.error.empty() && !e.answered_by_proxy) entry["comment"] = "error: " + e.error;
    // Field values may hold bytes that are not UTF-8 (obs-text): replaced, not refused.
    auto text = entry.dump(-1, ' ', false, json::error_handler_t::replace);
    return first ? text : "," + text;
}

}  // namespace mproxy::control
