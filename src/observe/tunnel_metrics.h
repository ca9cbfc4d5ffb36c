// What CONNECT tunnels carry (issue 16): the client's first bytes read as a TLS ClientHello
// (tls/client_hello), counted by offered ALPN and ECH, and the tunnels refused on them.
// Part of each worker's metrics_shard; rendered after the other tunnel families.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::observe {

// alpn="...": the first of h2 and http/1.1 the hello offers, else other, none without ALPN.
inline constexpr std::array<std::string_view, 4> tunnel_alpn_names{"h2", "http/1.1", "other",
                                                                   "none"};
// Why a tunnel was refused after its 200 (reason="...").
enum class tunnel_refusal { sni_mismatch, no_sni, not_tls, acl, unreadable };
inline constexpr std::array<std::string_view, 5> tunnel_refusal_names{
    "sni_mismatch", "no_sni", "not_tls", "acl", "unreadable"};
// A hello ferry could not read (reason="...").
inline constexpr std::array<std::string_view, 2> unreadable_hello_names{"malformed", "too_large"};

struct tunnel_tls_counters {
    using counter = std::atomic<std::uint64_t>;
    std::array<std::array<counter, 2>, tunnel_alpn_names.size()> hellos{}; // [alpn][ech]
    counter not_tls{0};
    std::array<counter, unreadable_hello_names.size()> unreadable{};
    std::array<counter, tunnel_refusal_names.size()> refusals{};
};

// The slot for an offered ALPN list (alpn_present false: "none").
std::size_t tunnel_alpn_slot(bool alpn_present, const std::vector<std::string>& offered);

// The families ferry_tunnels_tls_total, ferry_tunnels_not_tls_total,
// ferry_tunnels_hello_unreadable_total and ferry_tunnel_refusals_total, summed over `shards`.
void render_tunnel_tls(std::string& out, const std::vector<const tunnel_tls_counters*>& shards);

} // namespace ferry::observe
