// The parsers of the values options take: addresses, port lists, the parent URL, --direct
// rules. Pure; shared by the command line and the configuration file (through config/options).
#pragma once

#include "config/settings.h"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::config {

// "443,8443" or "any" (an empty list); false when malformed.
bool parse_port_list(std::string_view text, std::vector<std::uint16_t>& out);

// "HOST:PORT", "[v6]:PORT" or "PORT"; false when malformed.
bool parse_listen_address(std::string_view text, listen_address& out);

// "IP", "IP:PORT" or "[IPv6]:PORT" (port 53 when absent); false when malformed.
bool parse_dns_server(std::string_view text, dns_server& out);

// "http://[user:pass@]host[:port]" (port 80 when absent; user and password may be
// percent-encoded). Returns an empty string, or what is wrong.
std::string parse_parent(std::string_view text, parent_proxy& out);

// "host", ".domain" (the domain and its subdomains), "IP" or "IP/PREFIX"; false when malformed.
bool parse_direct_rule(std::string_view text, direct_rule& out);

} // namespace ferry::config
