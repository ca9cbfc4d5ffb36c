// The Basic scheme (RFC 7617) of a Proxy-Authorization value: pure, total, never throws on
// anything a client sends.
#pragma once

#include <string>
#include <string_view>

namespace ferry::auth {

inline constexpr std::size_t max_credentials_size = 4096;

struct basic_credentials {
    bool ok = false;
    std::string user;
    std::string password;
    std::string_view problem; // when !ok: "not the Basic scheme", "bad base64", ...
};

// "Basic dXNlcjpwYXNz" → user, password. The scheme name is case-insensitive.
basic_credentials parse_basic(std::string_view value);

// A client-supplied user name made safe for a log line that tools like fail2ban parse:
// printable ASCII as is, except the double quote and backslash; every other byte as \xHH;
// at most 64 bytes shown.
std::string printable_user(std::string_view user);

} // namespace ferry::auth
