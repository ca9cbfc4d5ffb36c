// The proxy auto-config file (/proxy.pac, /wpad.dat on the admin listener), generated from
// the running configuration. Pure.
//
// - The client's own machine is DIRECT: localhost and its subdomains, 127.0.0.0/8, ::1 (a
//   proxy elsewhere cannot reach the client's loopback; browsers bypass it anyway).
// - Each --direct rule is DIRECT: a host by equality, a .domain by dnsDomainIs() or equality
//   (ferry's suffix rules match the domain itself too), a CIDR only on IP-literal hosts —
//   ferry itself never resolves a name to match a --direct CIDR, and isInNet() on a name would
//   make the browser block on its own DNS lookup, with answers that may differ from ferry's.
// - Everything else goes to ferry: --pac-proxy when set, else every proxy listener in the
//   order configured ("HTTPS host:port" for https://, "PROXY host:port" for http://, so that a
//   client fails over to the next), loopback listeners left out when another one exists (a
//   remote client cannot use them), a wildcard address named by the Host the PAC file was
//   fetched with. No DIRECT fallback: a client that cannot reach ferry fails instead of
//   silently bypassing its policy.
// Every configured value is written as a JavaScript string literal with everything but
// [A-Za-z0-9.:/_-], space, ';' and brackets escaped (\xNN): no value can end the literal or a
// <script> around it.
#pragma once

#include "config/settings.h"

#include <boost/asio/ip/tcp.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

// A proxy listener as bound.
struct pac_listener {
    boost::asio::ip::tcp::endpoint endpoint;
    std::string scheme; // "http" or "https"
};

// One entry of the proxy list: "PROXY host:port" or "HTTPS host:port".
struct pac_proxy {
    bool https = false;
    std::string host; // name or IP literal, no brackets
    std::uint16_t port = 0;
    bool operator==(const pac_proxy&) const = default;
};

// The proxies the file names, in order (see above); `request_host` is the Host field of the
// request for the PAC file ("" when none; an invalid one counts as none). Empty when there is
// no usable address (a wildcard listener and no Host): the caller says to set --pac-proxy.
std::vector<pac_proxy> pac_proxies(const config::settings& s,
                                   std::span<const pac_listener> listeners,
                                   std::string_view request_host);

// "PROXY 10.0.0.1:3128; HTTPS [2001:db8::1]:443".
std::string pac_proxy_list(const std::vector<pac_proxy>& proxies);

// The whole file: FindProxyForURL(url, host) and its helpers.
std::string pac_file(const config::settings& s, const std::vector<pac_proxy>& proxies);

// `text` as a double-quoted JavaScript string literal, safe inside HTML too.
std::string js_string(std::string_view text);

} // namespace ferry::app
