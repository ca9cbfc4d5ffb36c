#include "auth/basic.h"

#include "util/base64.h"

namespace ferry::auth {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

basic_credentials failure(std::string_view problem) {
    basic_credentials c;
    c.problem = problem;
    return c;
}

} // namespace

basic_credentials parse_basic(std::string_view value) {
    if (value.size() > max_credentials_size) return failure("credentials too long");
    while (!value.empty() && is_space(value.front()))
        value.remove_prefix(1);
    while (!value.empty() && is_space(value.back()))
        value.remove_suffix(1);
    if (value.empty()) return failure("empty credentials");
    std::size_t space = 0;
    while (space < value.size() && !is_space(value[space]))
        ++space;
    if (!iequals(value.substr(0, space), "basic")) return failure("not the Basic scheme");
    auto token = value.substr(space);
    while (!token.empty() && is_space(token.front()))
        token.remove_prefix(1);
    if (token.empty()) return failure("no credentials after Basic");
    auto decoded = util::base64_decode(token);
    if (!decoded) return failure("bad base64");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return failure("no colon between user and password");
    if (colon == 0) return failure("empty user name");
    basic_credentials c;
    c.ok = true;
    c.user = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
    return c;
}

std::string printable_user(std::string_view user) {
    constexpr std::size_t shown = 64;
    constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < user.size() && i < shown; ++i) {
        const auto c = static_cast<unsigned char>(user[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += char(c);
        }
    }
    if (user.size() > shown) out += "...";
    return out;
}

} // namespace ferry::auth
