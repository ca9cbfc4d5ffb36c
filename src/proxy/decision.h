// What to do with a request: pure, from its head and ferry's own addresses.
#pragma once

#include "core/error.h"
#include "http/framing.h"
#include "http/head.h"
#include "http/target.h"

#include <boost/asio/ip/tcp.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy {

using core::errc;
using core::error;

enum class action {
    forward,        // relay to target
    tunnel,         // CONNECT: a two-way byte tunnel to target (RFC 9110 §9.3.6)
    status_page,    // a request addressed to ferry itself: answer with a small page
    answer_options, // OPTIONS with Max-Forwards: 0 (RFC 9110 §7.6.2)
    answer_trace,   // TRACE with Max-Forwards: 0
    reject,         // error.code says the status, error.cause why
};

struct decision {
    action kind = action::reject;
    error problem;
    http::target target;
    http::body_framing framing;
};

// True when connecting to `endpoint` would reach one of ferry's listeners.
bool is_self_endpoint(const boost::asio::ip::tcp::endpoint& endpoint,
                      std::span<const boost::asio::ip::tcp::endpoint> self);

// What a request for `host` sent through a parent proxy is known to reach without resolving
// it: an IP literal's address (a trailing dot ignored: "169.254.169.254." is that address),
// the loopback addresses for "localhost" names (RFC 6761); none for other names, which only
// the parent resolves. Safe destinations judge these before anything is sent.
std::vector<boost::asio::ip::address> parent_known_addresses(std::string_view host);

inline constexpr std::uint16_t default_connect_ports[] = {443};

// connect_ports: where CONNECT may go; empty means any port. `ports_option`: the option
// that set them, named in a refusal (--socks-ports for a SOCKS5 request).
decision decide(const http::request_head& head,
                std::span<const boost::asio::ip::tcp::endpoint> self,
                std::span<const std::uint16_t> connect_ports = default_connect_ports,
                std::string_view ports_option = "--connect-ports");

} // namespace ferry::proxy
