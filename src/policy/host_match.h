// Whether a host matches a rule's host, .domain or CIDR: shared by the access rules and the
// parent proxy's --direct rules. Pure.
#pragma once

#include "config/settings.h"

#include <string_view>

namespace ferry::policy {

// True when `host` matches the rule: the same host, the domain or one of its subdomains,
// or an IP literal inside the CIDR. Names are not resolved to match a CIDR.
bool matches(const config::direct_rule& rule, std::string_view host);

} // namespace ferry::policy
