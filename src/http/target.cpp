#include "http/target.h"

#include "http/chars.h"

namespace ferry::http {

namespace {

bool is_unreserved_or_sub_delim(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

bool valid_reg_name(std::string_view host) {
    if (host.empty()) return false;
    for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (!is_unreserved_or_sub_delim(c)) return false;
        if (c == '%') { // pct-encoded needs two hex digits
            auto hex = [](char h) {
                return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
            };
            if (i + 2 >= host.size() || !hex(host[i + 1]) || !hex(host[i + 2])) return false;
        }
    }
    return true;
}

// A host whose last label is numeric is an IPv4 address to resolvers and browsers (WHATWG
// URL, inet_aton: "127.1", "2130706433", "0x7f.1", "0177.0.0.1"). Only the dotted-decimal
// form of RFC 3986 is accepted, so that what access rules and logs see is what is reached.
bool ambiguous_ipv4(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    const auto dot = host.rfind('.');
    const auto last = dot == std::string_view::npos ? host : host.substr(dot + 1);
    if (last.empty()) return false;
    const bool hex = last.size() > 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X');
    for (std::size_t i = hex ? 2 : 0; i < last.size(); ++i) {
        const char c = last[i];
        const bool digit = c >= '0' && c <= '9';
        const bool hexdigit = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!digit && !(hex && hexdigit)) return false; // a name, not a number
    }
    // Numeric: it must be exactly four decimal parts 0-255 without leading zeros.
    int parts = 0;
    std::size_t start = 0;
    while (start <= host.size()) {
        auto end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        const auto part = host.substr(start, end - start);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return true;
        unsigned value = 0;
        for (char c : part) {
            if (c < '0' || c > '9') return true;
            value = value * 10 + unsigned(c - '0');
        }
        if (value > 255) return true;
        ++parts;
        start = end + 1;
    }
    return parts != 4;
}

bool valid_ipv6_literal(std::string_view inner) {
    if (inner.empty()) return false;
    for (char c : inner) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.';
        if (!ok) return false; // zone IDs and IPvFuture are not supported
    }
    return inner.find(':') != std::string_view::npos;
}

} // namespace

std::string_view describe(target_error e) {
    switch (e) {
    case target_error::none:
        return "no error";
    case target_error::https_scheme:
        return "https:// targets must be requested through a CONNECT tunnel";
    case target_error::bad_scheme:
        return "unsupported URL scheme (only http:// is proxied)";
    case target_error::userinfo:
        return "userinfo (user@host) in the request-target";
    case target_error::bad_host:
        return "invalid host in the request-target";
    case target_error::bad_port:
        return "invalid port in the request-target";
    case target_error::missing_host:
        return "missing or invalid Host header";
    case target_error::bad_form:
        return "invalid request-target";
    }
    return "unknown error";
}

target_error parse_authority(std::string_view text, std::uint16_t default_port, authority& out) {
    out = {};
    out.text = text;
    if (text.find('@') != std::string_view::npos) return target_error::userinfo;
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return target_error::bad_host;
        host = text.substr(1, close - 1);
        if (!valid_ipv6_literal(host)) return target_error::bad_host;
        out.ipv6 = true;
        auto after = text.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return target_error::bad_host;
            port = after.substr(1);
        }
    } else {
        auto colon = text.rfind(':');
        host = text.substr(0, colon);
        if (colon != std::string_view::npos) port = text.substr(colon + 1);
        if (!valid_reg_name(host) || ambiguous_ipv4(host)) return target_error::bad_host;
    }
    out.host = host;
    if (port.empty()) {
        out.port = default_port;
        if (!text.empty() && text.back() == ':') out.text.remove_suffix(1);
    } else {
        if (port.size() > 5) return target_error::bad_port;
        unsigned value = 0;
        for (char c : port) {
            if (c < '0' || c > '9') return target_error::bad_port;
            value = value * 10 + unsigned(c - '0');
        }
        if (value == 0 || value > 65535) return target_error::bad_port;
        out.port = static_cast<std::uint16_t>(value);
    }
    return target_error::none;
}

namespace {
// A fragment is not part of a request-target (RFC 9112 §3.2; clients never send one): it is
// cut off in either form, so no origin ever has to decide what a '#' in a path means.
std::string_view without_fragment(std::string_view path) {
    return path.substr(0, path.find('#'));
}
} // namespace

target_error parse_request_target(std::string_view method, std::string_view raw,
                                  std::string_view host_field, target& out) {
    out = {};
    if (raw.front() == '/' || (raw == "*" && method == "OPTIONS")) {
        if (host_field.empty()) return target_error::missing_host;
        if (auto e = parse_authority(host_field, 80, out.where); e != target_error::none)
            return target_error::missing_host;
        out.path = without_fragment(raw);
        return target_error::none;
    }
    auto sep = raw.find("://");
    if (sep == std::string_view::npos || sep == 0) return target_error::bad_form;
    auto scheme = raw.substr(0, sep);
    if (iequals(scheme, "https")) return target_error::https_scheme;
    if (!iequals(scheme, "http")) return target_error::bad_scheme;
    auto rest = raw.substr(sep + 3);
    auto end = rest.find_first_of("/?#");
    auto auth = rest.substr(0, end);
    if (auth.empty()) return target_error::bad_host;
    if (auto e = parse_authority(auth, 80, out.where); e != target_error::none) return e;
    out.absolute = true;
    out.path =
        end == std::string_view::npos ? std::string_view{} : without_fragment(rest.substr(end));
    return target_error::none;
}

} // namespace ferry::http
