// Where a request goes: straight to its origin, or through the parent proxy. Pure.
#pragma once

#include "config/settings.h"

#include <string_view>

namespace ferry::upstream {

// True when a request for `host` (lower-case; an IPv6 literal without brackets) goes
// through the parent: there is one and no --direct rule matches the host.
bool via_parent(const config::settings& s, std::string_view host);

// True when `host` matches the rule: the same host, the domain or one of its subdomains,
// or an IP literal inside the CIDR. Names are not resolved to match a CIDR.
bool matches(const config::direct_rule& rule, std::string_view host);

} // namespace ferry::upstream
