// Character classes and small string helpers from RFC 9110 §5.6 (tokens, field values).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ferry::http {

namespace detail {
constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool tchar_punct =
            std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
        std::uint8_t v = 0;
        if (alnum || tchar_punct) v |= 1; // tchar
        // field-vchar / obs-text, SP, HTAB (RFC 9110 §5.5)
        if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t') v |= 2;
        if (c >= 0x21 && c <= 0x7e) v |= 4; // VCHAR: request-target characters
        t[c] = v;
    }
    return t;
}
inline constexpr auto classes = make_classes();
} // namespace detail

inline bool is_tchar(char c) {
    return detail::classes[static_cast<unsigned char>(c)] & 1;
}
inline bool is_field_char(char c) {
    return detail::classes[static_cast<unsigned char>(c)] & 2;
}
inline bool is_vchar(char c) {
    return detail::classes[static_cast<unsigned char>(c)] & 4;
}

inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

inline char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1),
// with surrounding whitespace removed. Stops early when f returns false.
template <class F>
void for_each_list_element(std::string_view value, F&& f) {
    while (!value.empty()) {
        auto comma = value.find(',');
        auto element = trim_ows(value.substr(0, comma));
        if (!element.empty() && !f(element)) return;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

} // namespace ferry::http
