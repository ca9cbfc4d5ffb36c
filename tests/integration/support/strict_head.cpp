#include "support/strict_head.h"

#include "support/text.h"

#include <cctype>

namespace ferry_test {

using namespace std::literals;

namespace {

bool is_tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A field value may hold VCHAR, obs-text, SP and HTAB only (RFC 9110 §5.5).
bool is_value_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u == ' ' || u == '\t' || (u >= 0x21 && u != 0x7f);
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

} // namespace ferry_test
