#include "http/local_reply.h"

#include <charconv>

namespace ferry::http {

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 421:
        return "Misdirected Request";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 508:
        return "Loop Detected"; // RFC 5842 §7.2
    default:
        return "Unknown";
    }
}

void write_local_reply(const local_reply& reply, std::string_view pseudonym, std::string_view date,
                       std::string& out) {
    char num[24];
    out.append("HTTP/1.1 ");
    out.append(num, std::to_chars(num, num + sizeof num, reply.status).ptr);
    out.push_back(' ');
    out.append(reason_phrase(reply.status)).append("\r\n");
    out.append("Date: ").append(date).append("\r\n");
    out.append("Server: ").append(pseudonym).append("\r\n");
    out.append("Content-Type: ").append(reply.content_type).append("\r\n");
    out.append("Content-Length: ");
    out.append(num, std::to_chars(num, num + sizeof num, reply.body.size()).ptr);
    out.append("\r\n");
    out.append(reply.extra_fields);
    if (reply.close) out.append("Connection: close\r\n");
    out.append("\r\n");
    if (!reply.head_only) out.append(reply.body);
}

} // namespace ferry::http
