// Access control: who may use ferry, and to go where (issue 4). Pure: no I/O, no clocks.
// Rules are tried in order and the first that matches decides; without rules a default
// policy applies, so ferry is never an open proxy by accident.
#pragma once

#include "config/settings.h"

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::policy {

// Who may use ferry when no rule is configured.
enum class default_policy {
    loopback_only,        // every listener is on a loopback address
    loopback_and_private, // some listener is not: loopback, RFC 1918 and IPv6 ULA clients
};

struct acl_request {
    boost::asio::ip::address client;
    std::string_view host; // lower-case; IPv6 literal without brackets
    std::uint16_t port = 0;
    std::string_view method;
    const std::string* user = nullptr; // the authenticated user, if any
    // The address the destination resolved to, once known: CIDR rules match it too.
    const boost::asio::ip::address* address = nullptr;
    bool auth_available = false; // an htpasswd file is configured
};

struct acl_verdict {
    enum class kind { allow, deny, need_auth } what = kind::deny;
    std::size_t rule = 0; // 1-based index of the deciding rule; 0: the default or none matched
    std::string reason;   // for a deny: what the 403 body and the access log say
};

// The default policy for a server listening on these addresses.
default_policy default_for(const std::vector<boost::asio::ip::address>& listeners);

bool is_loopback(const boost::asio::ip::address& a);
bool is_private(const boost::asio::ip::address& a); // RFC 1918, IPv6 ULA (and loopback)

// True when a rule's destination CIDRs could match `host` only through its resolved address
// (the host is a name, and some rule has a CIDR destination).
bool needs_address(const std::vector<config::acl_rule>& rules, std::string_view host);

// How one rule judged a request: it matched, asked for credentials, or the first of its
// conditions that did not hold (in the order they are tried).
enum class rule_outcome {
    matched,
    asks_credentials, // a rule with users, no user yet, an htpasswd file to ask with
    client,           // the client address is in none of its CIDRs
    destination,      // the host (and the resolved address, when given) meets none of its dests
    port,             // the port is not among its ports
    method,           // the method is not among its methods
    no_way_to_authenticate, // it names users, none was given, and there is no htpasswd file
    user,                   // the user is not among its users
};

rule_outcome judge_rule(const config::acl_rule& rule, const acl_request& request);

acl_verdict evaluate(const std::vector<config::acl_rule>& rules, default_policy fallback,
                     const acl_request& request);

// evaluate(), and how each rule tried judged the request (rules after the deciding one are
// not tried): what `ferry explain` shows. The same loop as evaluate(), so the two never disagree.
acl_verdict evaluate(const std::vector<config::acl_rule>& rules, default_policy fallback,
                     const acl_request& request, std::vector<rule_outcome>& tried);

} // namespace ferry::policy
