// Request-target and authority parsing for a forward proxy (RFC 9112 §3.2, RFC 3986 §3.2).
#pragma once

#include <cstdint>
#include <string_view>

namespace ferry::http {

struct authority {
    std::string_view host; // reg-name or IPv4 as written; IPv6 without the brackets
    std::uint16_t port = 0;
    bool ipv6 = false;
    std::string_view text; // host[:port] as received, without userinfo: the Host to send
};

struct target {
    authority where;
    std::string_view path; // origin-form: path and query ("/" when absent); "*" for OPTIONS *
    bool absolute = false; // received in absolute-form
};

enum class target_error {
    none,
    https_scheme, // https:// in absolute-form: the client must use CONNECT
    bad_scheme,   // anything but http
    userinfo,     // user@host: never connected to, never turned into credentials
    bad_host,
    bad_port,     // not digits, 0 or > 65535
    missing_host, // origin-form without a usable Host
    bad_form,     // not origin-, absolute- or asterisk-form
};

std::string_view describe(target_error e);

// host [":" port]; an empty port means default_port (RFC 3986 §3.2.3).
target_error parse_authority(std::string_view text, std::uint16_t default_port, authority& out);

// Resolves where a non-CONNECT request goes: from an absolute-form target, or from Host for
// origin-form and asterisk-form (as the original proxy did). `host_field` may be empty.
target_error parse_request_target(std::string_view method, std::string_view raw,
                                  std::string_view host_field, target& out);

} // namespace ferry::http
