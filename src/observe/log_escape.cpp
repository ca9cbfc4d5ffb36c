#include "observe/log_escape.h"

namespace ferry::observe {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";
constexpr char hex_lower[] = "0123456789abcdef";

bool continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

} // namespace

std::size_t utf8_sequence_length(std::string_view text) {
    if (text.empty()) return 0;
    const auto b0 = static_cast<unsigned char>(text[0]);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    unsigned char low = 0x80, high = 0xBF; // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) low = 0xA0;  // overlong
        if (b0 == 0xED) high = 0x9F; // UTF-16 surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) low = 0x90;  // overlong
        if (b0 == 0xF4) high = 0x8F; // above U+10FFFF
    } else {
        return 0; // a continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (text.size() < n) return 0;
    const auto b1 = static_cast<unsigned char>(text[1]);
    if (b1 < low || b1 > high) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (!continuation(static_cast<unsigned char>(text[i]))) return 0;
    return n;
}

void append_json_string(std::string_view text, std::string& out) {
    out.push_back('"');
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            out.append("\\u00");
            out.push_back(hex_lower[c >> 4]);
            out.push_back(hex_lower[c & 0xF]);
            ++i;
        } else if (c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
        } else if (auto n = utf8_sequence_length(text.substr(i)); n > 0) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            out.append("\\ufffd");
            ++i;
        }
    }
    out.push_back('"');
}

void append_nginx_escaped(std::string_view text, std::string& out) {
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
            out.append("\\x");
            out.push_back(hex_digits[c >> 4]);
            out.push_back(hex_digits[c & 0xF]);
        } else {
            out.push_back(ch);
        }
    }
}

void append_url_escaped(std::string_view text, std::string& out) {
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7F) {
            out.push_back('%');
            out.push_back(hex_digits[c >> 4]);
            out.push_back(hex_digits[c & 0xF]);
        } else {
            out.push_back(ch);
        }
    }
}

std::string_view client_address(std::string_view label) {
    if (!label.empty() && label.front() == '[') {
        auto close = label.find(']');
        if (close != std::string_view::npos) return label.substr(1, close - 1);
        return label;
    }
    auto colon = label.rfind(':');
    if (colon == std::string_view::npos) return label;
    return label.substr(0, colon);
}

} // namespace ferry::observe
