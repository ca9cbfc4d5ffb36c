// explain's first step: the request head a client would send for a URL or host:port, as the
// proxy's parser and proxy::decide() see it. Pure.
#include "app/explain_request.h"

#include "http/chars.h"

#include <algorithm>

namespace ferry::app {

namespace {

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// host[:port] without a scheme says a port: "example.test:443", "[::1]:8443" (a bare IPv6
// literal does not).
bool has_port(std::string_view text) {
    if (text.starts_with("[")) return text.find("]:") != std::string_view::npos;
    const auto colon = text.find(':');
    return colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos;
}

// The authority of an absolute URL (after "scheme://", up to the path), without userinfo:
// what the Host field carries.
std::string_view authority_of(std::string_view rest) {
    auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    return authority;
}

} // namespace

std::string make_explain_request(std::string_view target, std::string_view method_given,
                                 explain_request& out) {
    std::string method;
    for (char c : method_given) {
        if (!is_token_char(c)) return "--method: expected a method name like GET";
        method += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
    }
    if (target.empty()) return "expected a URL or host:port to explain";
    if (std::any_of(target.begin(), target.end(),
                    [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
        return "the URL has spaces or control characters";
    std::string request_target, host;
    const auto sep = target.find("://");
    if (sep != std::string_view::npos) {
        std::string scheme(target.substr(0, sep));
        for (auto& c : scheme)
            c = http::to_lower(c);
        const auto authority = authority_of(target.substr(sep + 3));
        // A client asks for an https:// URL with CONNECT host:port (ferry refuses https://
        // in absolute-form, as the proxy would if --method says otherwise).
        if (scheme == "https" && (method.empty() || method == "CONNECT")) {
            method = "CONNECT";
            request_target = std::string(authority);
            if (!has_port(authority)) request_target += ":443";
            host = request_target;
        } else {
            request_target = std::string(target);
            host = std::string(authority);
        }
    } else if (method == "CONNECT" || (method.empty() && has_port(target))) {
        method = "CONNECT";
        request_target = host = std::string(target);
    } else {
        request_target = "http://" + std::string(target);
        host = std::string(authority_of(target));
    }
    if (method.empty()) method = "GET";
    out.line = method + " " + request_target;
    out.head = out.line + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    return {};
}

} // namespace ferry::app
