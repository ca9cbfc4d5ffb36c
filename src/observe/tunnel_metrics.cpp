#include "observe/tunnel_metrics.h"

#include "observe/counter.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::observe {

namespace {

using shard_list = std::vector<const tunnel_tls_counters*>;

template <class Get>
std::uint64_t sum(const shard_list& shards, Get get) {
    std::uint64_t total = 0;
    for (const auto* s : shards)
        total += read(get(*s));
    return total;
}

void family(std::string& out, std::string_view name, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n", name, help, name);
}

} // namespace

std::size_t tunnel_alpn_slot(bool alpn_present, const std::vector<std::string>& offered) {
    if (!alpn_present) return 3;
    auto has = [&](std::string_view p) {
        return std::find(offered.begin(), offered.end(), p) != offered.end();
    };
    if (has("h2")) return 0;
    if (has("http/1.1")) return 1;
    return 2;
}

void render_tunnel_tls(std::string& out, const shard_list& shards) {
    const auto it = std::back_inserter(out);
    family(out, "ferry_tunnels_tls_total",
           "CONNECT tunnels whose client sent a TLS ClientHello, by offered ALPN (h2 first, then "
           "http/1.1; none: no ALPN) and ECH.");
    for (std::size_t a = 0; a < tunnel_alpn_names.size(); ++a)
        for (std::size_t e = 0; e < 2; ++e)
            fmt::format_to(it, "ferry_tunnels_tls_total{{alpn=\"{}\",ech=\"{}\"}} {}\n",
                           tunnel_alpn_names[a], e == 1 ? "yes" : "no",
                           sum(
                               shards, [&](const tunnel_tls_counters& s) -> const auto& {
                                   return s.hellos[a][e];
                               }));
    family(out, "ferry_tunnels_not_tls_total",
           "CONNECT tunnels whose client's first bytes were not a TLS handshake.");
    fmt::format_to(
        it, "ferry_tunnels_not_tls_total {}\n",
        sum(
            shards, [](const tunnel_tls_counters& s) -> const auto& { return s.not_tls; }));
    family(out, "ferry_tunnels_hello_unreadable_total",
           "CONNECT tunnels whose ClientHello ferry could not read, by why.");
    for (std::size_t i = 0; i < unreadable_hello_names.size(); ++i)
        fmt::format_to(it, "ferry_tunnels_hello_unreadable_total{{reason=\"{}\"}} {}\n",
                       unreadable_hello_names[i],
                       sum(
                           shards, [&](const tunnel_tls_counters& s) -> const auto& {
                               return s.unreadable[i];
                           }));
    family(out, "ferry_tunnel_refusals_total",
           "CONNECT tunnels closed after their 200 on what the client sent first "
           "(--tunnel-sni, access rules on the SNI), by reason.");
    for (std::size_t i = 0; i < tunnel_refusal_names.size(); ++i)
        fmt::format_to(it, "ferry_tunnel_refusals_total{{reason=\"{}\"}} {}\n",
                       tunnel_refusal_names[i],
                       sum(
                           shards, [&](const tunnel_tls_counters& s) -> const auto& {
                               return s.refusals[i];
                           }));
}

} // namespace ferry::observe
