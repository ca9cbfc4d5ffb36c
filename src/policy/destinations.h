// Safe destinations (issue 18): the addresses ferry does not connect to for a client unless
// an access rule names them — loopback, link-local and the cloud metadata addresses,
// unspecified, multicast, broadcast, ferry's admin listener, and with
// `private_destinations = "deny"` the private ranges. Pure: no I/O.
//
// An IPv6 form that reaches an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible
// ::a.b.c.d, NAT64 64:ff9b::/96) is judged as that IPv4 address.
#pragma once

#include "config/settings.h"
#include "policy/acl.h"

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::policy {

// After `none`, in the order of observe::destination_category_names (the /metrics labels):
// the category's label is destination_category_names[int(category) - 1].
enum class destination_category {
    none,           // not protected
    loopback,       // 127/8, ::1
    link_local,     // 169.254/16, fe80::/10
    metadata,       // 169.254.169.254, fd00:ec2::254, 100.100.100.200
    unspecified,    // 0/8, ::
    multicast,      // 224/4, ff00::/8
    broadcast,      // 255.255.255.255
    admin_listener, // ferry's own admin listener (found by the caller: it knows the port)
    private_range,  // 10/8, 172.16/12, 192.168/16 (with private_destinations = "deny")
    shared_range,   // 100.64/10, RFC 6598 (idem)
    unique_local,   // fc00::/7, RFC 4193 (idem)
};

// Why auto turns safe destinations on: "a listener is not on loopback" (the default access
// policy is loopback_and_private), "a listener takes the PROXY protocol" (a loopback listener
// behind a load balancer serves the load balancer's clients), or "" (every proxy listener is
// on loopback and takes no PROXY protocol).
std::string_view exposure(const config::settings& s, default_policy listeners);

// Whether safe destinations apply: settings::safe_destinations "on", "off", or "auto" — on
// when exposure() says why.
bool safe_destinations_apply(const config::settings& s, default_policy listeners);

// The start-up line saying that safe destinations apply and why, or that they were turned
// off on a server that listens beyond loopback; "" when nothing needs saying (auto, every
// listener on loopback).
std::string safe_destinations_notice(const config::settings& s, default_policy listeners);

// The address an IPv6 form reaches in IPv4 (mapped, compatible, NAT64), or `a` itself.
boost::asio::ip::address reached_address(const boost::asio::ip::address& a);

// The category of the address `a` reaches; private ranges only when `deny_private`.
destination_category classify(const boost::asio::ip::address& a, bool deny_private);

// What the 403 calls the category of `a`: "loopback", "link-local (cloud metadata)", ...
std::string_view category_words(destination_category c, const boost::asio::ip::address& a);

// The 403 body: `ferry: destination 169.254.169.254 is link-local (cloud metadata); allow it
// with an access rule`. An address reached through an IPv6 form is named with the IPv4 one
// it reaches: `destination 64:ff9b::7f00:1 (127.0.0.1) is loopback`; ferry's admin listener
// with its port.
std::string destination_refusal(const boost::asio::ip::address& a, std::uint16_t port,
                                destination_category c);

// True when the access rules, evaluated with the address (`verdict`), re-open the protected
// address `a` (of category `c`) for `host`: the deciding rule is an allow rule with an inline
// `dest` entry that names it — a CIDR holding the address `a` reaches (the IPv4 one for a
// mapped, compatible or NAT64 form) whose prefix is at least as long as the category's range
// (127.0.0.0/8 or longer for loopback, 169.254.0.0/16 for link-local; the exact /32 or /128
// for a cloud metadata address, broadcast and ferry's admin listener), or a host entry equal
// to `host` (never a `.domain` suffix). A catch-all rule, `0.0.0.0/0`, a `.domain` or a
// `dest_file` list re-opens nothing; nor does the default policy.
bool explicitly_allowed(const std::vector<config::acl_rule>& rules, const acl_verdict& verdict,
                        std::string_view host, const boost::asio::ip::address& a,
                        destination_category c);

} // namespace ferry::policy
