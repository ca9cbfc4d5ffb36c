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

// "[SCHEME://]HOST:PORT", "[SCHEME://][v6]:PORT" or "PORT" (on 127.0.0.1); the scheme is
// lower-cased, "http" when absent, and may be followed by a final "/". False when malformed;
// whether ferry serves the scheme is listen_scheme_problem's question.
bool parse_listen_address(std::string_view text, listen_address& out);

// The schemes a listen address may name: one per front end in frontend/registry, which
// config/ cannot see (it is a layer below); a unit test checks that the two lists agree.
inline constexpr std::string_view listen_schemes[] = {"http", "https", "socks5"};

// "" when ferry serves `scheme`, else `unknown scheme "socks4" (ferry serves: http, https,
// socks5)`.
std::string listen_scheme_problem(std::string_view scheme);

// A listen address as it is written: "127.0.0.1:8080", "[::1]:8080", and with its scheme
// when it is not http ("socks5://127.0.0.1:1080"); with the PROXY protocol, followed by
// "?proxy_protocol_from=CIDR,..." as --listen takes it.
std::string format_listen_address(const listen_address& a);

// The load balancers a PROXY protocol listener believes: "CIDR[,CIDR...]" (an IP alone is
// its /32 or /128). "" or what is wrong, naming the element.
std::string parse_proxy_protocol_from(std::string_view text, std::vector<direct_rule>& out);

// One balancer of proxy_protocol_from: "" or what is wrong. An IPv4-mapped IPv6 network
// (::ffff:10.0.0.0/104) is refused: peers are matched as IPv4, so it could never match.
std::string parse_balancer(std::string_view text, direct_rule& out);

// A CIDR rule as written: "10.0.0.0/8".
std::string format_cidr(const direct_rule& r);

// "IP", "IP:PORT" or "[IPv6]:PORT" (port 53 when absent); false when malformed.
bool parse_dns_server(std::string_view text, dns_server& out);

// "http://[user:pass@]host[:port]" (port 80 when absent; user and password may be
// percent-encoded). Returns an empty string, or what is wrong.
std::string parse_parent(std::string_view text, parent_proxy& out);

// "host", ".domain" (the domain and its subdomains), "IP" or "IP/PREFIX"; false when malformed.
bool parse_direct_rule(std::string_view text, direct_rule& out);

// %XX sequences decoded ('+' stays '+'); false when one is malformed.
bool percent_decode(std::string_view in, std::string& out);

} // namespace ferry::config
