// ferry's own responses: errors with a one-line body naming the cause, and small pages.
#pragma once

#include <string>
#include <string_view>

namespace ferry::http {

std::string_view reason_phrase(int status);

struct local_reply {
    local_reply() = default;
    local_reply(int s, std::string b, bool c) : status(s), body(std::move(b)), close(c) {}

    int status = 500;
    std::string body;  // one line, ending in '\n'
    bool close = true; // "Connection: close"; false keeps the connection
    std::string_view content_type = "text/plain; charset=utf-8";
    std::string extra_fields; // complete field lines, each ending in CRLF
    bool head_only = false;   // answer to HEAD: no body bytes
};

// Appends the serialised reply; `date` is an IMF-fixdate.
void write_local_reply(const local_reply& reply, std::string_view pseudonym, std::string_view date,
                       std::string& out);

} // namespace ferry::http
