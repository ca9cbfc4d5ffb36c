#include "support/strict_reader.h"

#include "support/socket_io.h"
#include "support/text.h"

#include <cctype>

namespace ferry_test {

int strict_reading::finals() const {
    int n = 0;
    for (const auto& m : messages)
        if (m.status >= 200) ++n;
    return n;
}

namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

// The status of a strict status line, or 0.
int strict_status(std::string_view head) {
    if (!head.starts_with("HTTP/1.1 ") && !head.starts_with("HTTP/1.0 ")) return 0;
    auto code = head.substr(9, 3);
    if (!all_digits(code) || head.size() < 13 || (head[12] != ' ' && head[12] != '\r')) return 0;
    return std::stoi(std::string(code));
}

} // namespace

strict_reading read_strictly(std::string_view bytes, bool head_request) {
    strict_reading out;
    while (!bytes.empty()) {
        auto end = bytes.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            out.error = "bytes that are no complete head: " + printable(bytes, 200);
            return out;
        }
        strict_message m;
        m.head = std::string(bytes.substr(0, end + 4));
        bytes.remove_prefix(end + 4);
        m.status = strict_status(m.head);
        if (m.status == 0) {
            out.error = "not a status line: " + printable(m.head, 200);
            return out;
        }
        bool bare = false;
        for (std::size_t i = 0; i < m.head.size(); ++i)
            if ((m.head[i] == '\n' && (i == 0 || m.head[i - 1] != '\r')) ||
                (m.head[i] == '\r' && (i + 1 == m.head.size() || m.head[i + 1] != '\n')))
                bare = true;
        if (bare || m.head.find("\r\n ") != std::string::npos ||
            m.head.find("\r\n\t") != std::string::npos || m.head.find('\0') != std::string::npos) {
            out.error = "head with bare LF, obs-fold or NUL: " + printable(m.head, 200);
            return out;
        }
        const auto te = header_values(m.head, "transfer-encoding");
        const auto cl = header_values(m.head, "content-length");
        const bool no_body = m.status < 200 || m.status == 204 || m.status == 304 || head_request;
        if (!no_body && !te.empty()) {
            if (!cl.empty() || te.size() != 1 || te[0] != "chunked") {
                out.error = "ambiguous framing: " + printable(m.head, 200);
                return out;
            }
            auto n = chunked_length(bytes);
            if (n == std::string_view::npos) {
                m.body = std::string(bytes);
                m.complete = false;
                bytes = {};
            } else {
                m.body = std::string(bytes.substr(0, n));
                bytes.remove_prefix(n);
            }
        } else if (!no_body && !cl.empty()) {
            if (cl.size() != 1 || !all_digits(cl[0]) || cl[0].size() > 15) {
                out.error = "bad Content-Length: " + printable(m.head, 200);
                return out;
            }
            const auto n = std::stoull(cl[0]);
            m.body = std::string(bytes.substr(0, n));
            m.complete = bytes.size() >= n;
            bytes.remove_prefix(std::min<std::size_t>(n, bytes.size()));
        } else if (!no_body) {
            m.body = std::string(bytes); // until close
            bytes = {};
        }
        out.messages.push_back(std::move(m));
        if (!out.messages.back().complete) break;
    }
    return out;
}

} // namespace ferry_test
