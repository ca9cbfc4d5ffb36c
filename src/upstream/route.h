// Where a request goes: straight to its origin, or through the parent proxy. Pure.
#pragma once

#include "config/settings.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::upstream {

// True when a request for `host` (lower-case; an IPv6 literal without brackets) goes
// through the parent: there is one and no --direct rule matches the host.
bool via_parent(const config::settings& s, std::string_view host);

// Why a request for `host` goes where it goes: `ferry explain` shows it; via_parent() is
// decided by it.
struct route_reason {
    bool parent = false;         // through the parent
    std::size_t direct_rule = 0; // 1-based index of the --direct rule that matched; 0: none
};
route_reason why_route(const config::settings& s, std::string_view host);

// Where the connection for a request goes: its origin, or the parent proxy.
struct route {
    bool parent = false;
    bool tls = false; // TLS to the parent (--parent https://)
    std::string host; // to connect to (lower-case)
    std::uint16_t port = 0;
    std::string key;   // pool key
    std::string label; // for logs: "host:port", "[v6]:port" (+ " (parent proxy)")
    // The request's host (lower-case) and port, through the parent or not.
    std::string origin;
    std::uint16_t origin_port = 0;
};
route route_for(const config::settings& s, std::string_view host, std::uint16_t port);

// "host:port", "[v6]:port".
std::string host_port_label(std::string_view host, std::uint16_t port);

} // namespace ferry::upstream
