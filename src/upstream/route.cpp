#include "upstream/route.h"

#include "http/chars.h"
#include "policy/host_match.h"

#include <fmt/format.h>

namespace ferry::upstream {

route_reason why_route(const config::settings& s, std::string_view host) {
    if (!s.parent) return {};
    for (std::size_t i = 0; i < s.direct.size(); ++i)
        if (policy::matches(s.direct[i], host)) return {false, i + 1};
    return {true, 0};
}

bool via_parent(const config::settings& s, std::string_view host) {
    return why_route(s, host).parent;
}

std::string host_port_label(std::string_view host, std::uint16_t port) {
    if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

route route_for(const config::settings& s, std::string_view host, std::uint16_t port) {
    route r;
    r.host.assign(host);
    for (auto& c : r.host)
        c = http::to_lower(c);
    r.port = port;
    r.origin = r.host;
    r.origin_port = port;
    if (via_parent(s, r.host)) {
        r.parent = true;
        r.tls = s.parent->tls;
        r.host = s.parent->host;
        r.port = s.parent->port;
        r.label = host_port_label(r.host, r.port) + " (parent proxy)";
        // A TLS connection never serves a plain parent of the same address, nor the reverse.
        r.key = (r.tls ? "parent tls " : "parent ") + r.label;
    } else {
        r.label = host_port_label(r.host, r.port);
        r.key = r.label;
    }
    return r;
}

} // namespace ferry::upstream
