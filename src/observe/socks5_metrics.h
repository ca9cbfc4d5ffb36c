// SOCKS5 counters (frontend/socks5): handshakes that failed before a request could be
// served, by reason, and the replies sent, by code (RFC 1928 §6). Tunnels are counted by
// the tunnel families, as CONNECT's are.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ferry::observe {

// Why a SOCKS5 handshake failed (reason="..."), in the front end's order.
enum class socks5_failure {
    bad_version,          // not SOCKS version 5 (or 1 in the RFC 1929 sub-negotiation)
    no_methods,           // an empty method list
    no_acceptable_method, // answered 0xFF
    auth_failed,          // RFC 1929: unknown user or wrong password
    bad_request,          // an unknown command or address type, a bad name, BIND, UDP
    timeout,              // a step not done within header_timeout
    closed,               // the client closed or reset the connection mid-handshake
};
inline constexpr std::array<std::string_view, 7> socks5_failure_names{
    "bad_version", "no_methods", "no_acceptable_method", "auth_failed", "bad_request",
    "timeout",     "closed"};

// Reply codes 0x00..0x08 (reply="..."), by their value.
inline constexpr std::array<std::string_view, 9> socks5_reply_names{
    "succeeded",           "general_failure",       "not_allowed",
    "network_unreachable", "host_unreachable",      "connection_refused",
    "ttl_expired",         "command_not_supported", "address_type_not_supported"};

struct socks5_counters {
    std::array<std::atomic<std::uint64_t>, socks5_failure_names.size()> handshake_failures{};
    std::array<std::atomic<std::uint64_t>, socks5_reply_names.size()> replies{};
};

} // namespace ferry::observe
