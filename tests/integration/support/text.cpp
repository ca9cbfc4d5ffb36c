#include "support/text.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

namespace ferry_test {

// Control bytes made visible, long texts shortened, for failure messages.
std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s.substr(0, max)) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else
            out += c;
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

// What matters in ferry's stderr: a sanitizer's report from its first line, else the end.
std::string tail(std::string_view s, std::size_t n) {
    if (auto at = s.find("ERROR: "); at != std::string_view::npos)
        return std::string(s.substr(at, n));
    return std::string(s.size() > n ? s.substr(s.size() - n) : s);
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Length of the complete chunked body at the start of `raw` (last chunk, trailers and the
// final CRLF included), or npos when it is not complete or not well-formed.
std::size_t chunked_length(std::string_view raw) {
    std::size_t pos = 0;
    for (;;) {
        auto eol = raw.find("\r\n", pos);
        if (eol == std::string_view::npos) return std::string_view::npos;
        auto digits = raw.substr(pos, eol - pos);
        digits = digits.substr(0, digits.find(';'));
        if (digits.empty() || digits.size() > 15) return std::string_view::npos;
        std::uint64_t size = 0;
        for (char c : digits) {
            if (!std::isxdigit(static_cast<unsigned char>(c))) return std::string_view::npos;
            size = size * 16 + std::uint64_t(std::stoi(std::string(1, c), nullptr, 16));
        }
        pos = eol + 2;
        if (size == 0) {
            for (;;) { // trailer lines, then the empty line
                auto end = raw.find("\r\n", pos);
                if (end == std::string_view::npos) return std::string_view::npos;
                if (end == pos) return pos + 2;
                pos = end + 2;
            }
        }
        if (raw.size() < pos + size + 2 || raw.substr(pos + size, 2) != "\r\n")
            return std::string_view::npos;
        pos += size + 2;
    }
}

int count_in(const std::string& haystack, const std::string& text) {
    int n = 0;
    for (auto at = haystack.find(text); at != std::string::npos; at = haystack.find(text, at + 1))
        ++n;
    return n;
}

} // namespace ferry_test
