#include "support/recording_origin.h"

#include "support/text.h"

#include <cctype>

namespace ferry_test {

using namespace std::literals;

namespace {

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool is_tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A field value may hold VCHAR, obs-text, SP and HTAB only (RFC 9110 §5.5).
bool is_value_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u == ' ' || u == '\t' || (u >= 0x21 && u != 0x7f);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

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

strict_head parse_strict_head(std::string_view head) {
    strict_head h;
    if (head.size() < 4 || !head.ends_with("\r\n\r\n")) {
        h.problem = "head not ended by CRLF CRLF";
        return h;
    }
    head.remove_suffix(2);
    bool first = true;
    while (!head.empty()) {
        auto eol = head.find("\r\n");
        auto line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        if (line.find_first_of("\r\n\0"sv) != std::string_view::npos) {
            h.problem = "CR, LF or NUL inside a line: " + printable(line);
            return h;
        }
        if (first) {
            h.start_line = line;
            first = false;
            continue;
        }
        if (line.empty() || line.front() == ' ' || line.front() == '\t') {
            h.problem = "obs-fold or empty line: " + printable(line);
            return h;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            h.problem = "not a field line: " + printable(line);
            return h;
        }
        for (char c : line.substr(0, colon))
            if (!is_tchar(c)) {
                h.problem = "field name is not a token: " + printable(line);
                return h;
            }
        auto value = trim(line.substr(colon + 1));
        for (char c : value)
            if (!is_value_char(c)) {
                h.problem = "control character in a field value: " + printable(line);
                return h;
            }
        h.fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return h;
}

int count_fields(const field_list& fields, std::string_view name) {
    int n = 0;
    for (const auto& f : fields)
        n += iequal(f.first, name);
    return n;
}

std::string field_value(const field_list& fields, std::string_view name) {
    for (const auto& f : fields)
        if (iequal(f.first, name)) return f.second;
    return {};
}

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
