#include "proxy/http1/error_response.hpp"

#include "proxy/http/hop_by_hop.hpp"

namespace mproxy::proxy {

std::string_view reason_phrase(unsigned status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 417: return "Expectation Failed";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        case 508: return "Loop Detected";
        default: return "Error";
    }
}

std::string make_error_response(unsigned status, std::string_view explanation, bool close) {
    std::string body = "mproxy: ";
    body += explanation;
    body += '\n';
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += reason_phrase(status);
    out += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size());
    out += "\r\nVia: ";
    out += via_value;
    out += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
    out += body;
    return out;
}

}  // namespace mproxy::proxy
