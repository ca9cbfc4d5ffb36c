#include "support/recording_origin.h"

#include "support/text.h"

#include <cctype>

namespace ferry_test {

using namespace std::literals;

namespace {

constexpr auto read_timeout = 5s;
constexpr int max_chunks = 100000;

// Reads a chunked body as raw bytes into r.body (decoded into r.decoded); "" or a problem.
std::string read_chunked(tcp_stream& s, recorded_request& r) {
    for (int i = 0; i < max_chunks; ++i) {
        auto line = s.read_until("\r\n", read_timeout);
        r.body += line;
        if (!line.ends_with("\r\n")) return "chunk-size line not ended by CRLF";
        auto size_text = std::string_view(line).substr(0, line.size() - 2);
        size_text = size_text.substr(0, size_text.find(';'));
        if (size_text.empty() || size_text.size() > 8) return "bad chunk size: " + printable(line);
        std::size_t size = 0;
        for (char c : size_text) {
            if (!std::isxdigit(static_cast<unsigned char>(c)))
                return "bad chunk size: " + printable(line);
            size = size * 16 +
                   std::size_t(std::isdigit(static_cast<unsigned char>(c))
                                   ? c - '0'
                                   : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
        }
        if (size == 0) break;
        auto data = s.read_exact(size + 2, read_timeout);
        r.body += data;
        if (data.size() != size + 2 || !data.ends_with("\r\n")) return "chunk data cut short";
        r.decoded += data.substr(0, size);
    }
    for (int i = 0; i < 1000; ++i) { // trailer section
        auto line = s.read_until("\r\n", read_timeout);
        r.body += line;
        if (!line.ends_with("\r\n")) return "trailer line not ended by CRLF";
        if (line == "\r\n") return {};
    }
    return "too many trailer lines";
}

// Reads the body the head announces; "" or a problem (then the connection is not reused).
std::string read_body(tcp_stream& s, recorded_request& r) {
    const auto& f = r.parsed.fields;
    const int te = count_fields(f, "transfer-encoding");
    const int cl = count_fields(f, "content-length");
    if (te > 0 && cl > 0) return "both Transfer-Encoding and Content-Length";
    if (te > 1) return "several Transfer-Encoding fields";
    if (cl > 1) return "several Content-Length fields";
    if (te == 1) {
        if (!iequal(field_value(f, "transfer-encoding"), "chunked"))
            return "Transfer-Encoding is not exactly chunked: " +
                   printable(field_value(f, "transfer-encoding"));
        return read_chunked(s, r);
    }
    if (cl == 1) {
        auto v = field_value(f, "content-length");
        if (v.empty() || v.size() > 12) return "bad Content-Length: " + printable(v);
        std::size_t n = 0;
        for (char c : v) {
            if (c < '0' || c > '9') return "bad Content-Length: " + printable(v);
            n = n * 10 + std::size_t(c - '0');
        }
        r.body = s.read_exact(n, 20s);
        r.decoded = r.body;
        if (r.body.size() != n) return "body cut short";
    }
    return {};
}

} // namespace

recording_origin::recording_origin() : origin_([this](origin_connection& c) { serve(c); }) {}

std::vector<recorded_request> recording_origin::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::size_t recording_origin::count() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
}

void recording_origin::serve(origin_connection& c) {
    for (int i = 0; i < 10000; ++i) {
        recorded_request r;
        r.head = c.stream.read_until("\r\n\r\n", 30s);
        if (r.head.empty()) return; // closed between requests
        r.parsed = parse_strict_head(r.head);
        if (r.parsed.problem.empty()) {
            r.parsed.problem = read_body(c.stream, r);
        }
        const bool broken = !r.parsed.problem.empty();
        const bool head_request = r.parsed.start_line.starts_with("HEAD ");
        c.received += r.head + r.body;
        {
            std::lock_guard lock(mutex_);
            messages_.push_back(std::move(r));
        }
        if (broken) return; // a strict server closes after a message it cannot frame
        c.send(head_request ? "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    }
}

} // namespace ferry_test
