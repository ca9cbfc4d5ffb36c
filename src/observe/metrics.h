// What ferry counts for its /metrics page (Prometheus text format 0.0.4). Each worker owns a
// shard and is its only writer (observe::bump: no locked instruction); the admin listener
// reads every shard and sums them. Pure rendering, apart from the relaxed atomic loads.
#pragma once

#include "observe/exchange_record.h"
#include "observe/socks5_metrics.h"
#include "observe/tunnel_metrics.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::observe {

// Methods counted by name; anything else is "other".
inline constexpr std::array<std::string_view, 10> metric_methods{
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "PATCH", "TRACE", "SOCKS5"};
inline constexpr std::size_t method_slots = metric_methods.size() + 1;
// Status classes 1xx..5xx, and slot 0 for "no answer" (000 in the access log).
inline constexpr std::size_t status_slots = 6;
// Request duration buckets, seconds (upper bounds; +Inf is the count).
inline constexpr std::array<double, 11> duration_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.5,    1,     5};

using counter = std::atomic<std::uint64_t>;

// ACL denials and auth failures by the deciding rule: [0] the default policy (or no rule
// matched), [N] the Nth [[acl]] rule, the last slot every rule past the 255th.
inline constexpr std::size_t acl_rule_slots = 257;
inline std::size_t acl_rule_slot(std::size_t rule) {
    return rule < acl_rule_slots ? rule : acl_rule_slots - 1;
}

// Destination addresses refused by safe destinations (policy/destinations' category labels),
// as /metrics names them (category="...").
inline constexpr std::array<std::string_view, 10> destination_category_names{
    "loopback",  "link-local", "metadata", "unspecified", "multicast",
    "broadcast", "admin",      "private",  "shared",      "unique-local"};

// Why a TLS handshake with a client failed, as /metrics names it (reason="...").
enum class tls_failure {
    timeout,         // not done within tls_handshake_timeout
    plain_http,      // a plain HTTP request on the HTTPS port (answered 400)
    not_tls,         // bytes that are not a TLS record
    version,         // a protocol version ferry does not speak (TLS 1.1 or older)
    protocol,        // any other handshake error (no shared cipher, renegotiation, bad record)
    no_certificate,  // a client certificate was required and none was sent
    bad_certificate, // a client certificate that did not verify
    revoked,         // a client certificate listed in the CRL
    closed,          // the client closed or reset the connection during the handshake
};
inline constexpr std::array<std::string_view, 9> tls_failure_names{
    "timeout",        "plain_http",      "not_tls", "version", "protocol",
    "no_certificate", "bad_certificate", "revoked", "closed"};

// Why a connection on a PROXY protocol listener was closed before its header was read
// (issue 17), as /metrics names it (reason="...").
enum class proxy_protocol_refusal {
    untrusted, // the peer is not in the listener's proxy_protocol_from
    malformed, // not a PROXY header, or one that breaks the specification
    timeout,   // no whole header within proxy_protocol_timeout
    closed,    // the peer closed or reset the connection before the header was whole
    too_large, // a v1 line over 107 bytes, a v2 header over the bound
};
inline constexpr std::array<std::string_view, 5> proxy_protocol_refusal_names{
    "untrusted", "malformed", "timeout", "closed", "too_large"};

// HTTP/2 error codes (RFC 9113 §7) as /metrics names them; a code beyond these is "other".
inline constexpr std::array<std::string_view, 15> http2_error_names{"no_error",
                                                                    "protocol_error",
                                                                    "internal_error",
                                                                    "flow_control_error",
                                                                    "settings_timeout",
                                                                    "stream_closed",
                                                                    "frame_size_error",
                                                                    "refused_stream",
                                                                    "cancel",
                                                                    "compression_error",
                                                                    "connect_error",
                                                                    "enhance_your_calm",
                                                                    "inadequate_security",
                                                                    "http_1_1_required",
                                                                    "other"};
inline std::size_t http2_error_slot(std::uint32_t code) {
    return code < http2_error_names.size() - 1 ? code : http2_error_names.size() - 1;
}

// HTTP/2 connections and streams (issue 15). [0] is the client's side, [1] ferry's.
struct http2_counters {
    counter connections{0}; // open now (gauge)
    counter connections_total{0};
    counter streams{0}; // open now (gauge)
    counter streams_total{0};
    std::array<std::array<counter, http2_error_names.size()>, 2> resets{};
    std::array<std::array<counter, http2_error_names.size()>, 2> goaways{};
    counter idle_connections{0}; // with no stream open (gauge)
    counter idle_bytes{0};       // the memory those hold, measured when each went idle (gauge)
};

struct metrics_shard {
    std::array<std::array<counter, status_slots>, method_slots> requests{};
    counter bytes_from_clients{0};
    counter bytes_to_clients{0};
    counter client_connections{0}; // open now (gauge)
    counter client_connections_total{0};
    counter client_connections_parked{0};  // of those open, idle without a session (gauge)
    counter client_connections_refused{0}; // over --max-connections[-per-client]: 503
    counter upstream_connections{0};       // open now (gauge): in use or idle in the pool
    counter tunnels{0};                    // open now (gauge): CONNECT and switched Upgrades
    counter tunnels_total{0};
    tunnel_tls_counters tunnel_tls; // what CONNECT tunnels carry (issue 16)
    counter acl_denials{0};
    counter auth_failures{0};
    std::array<counter, acl_rule_slots> acl_denials_by_rule{};
    std::array<counter, acl_rule_slots> auth_failures_by_rule{};
    std::array<counter, destination_category_names.size()> destination_denials{};
    counter tls_handshakes{0}; // completed with clients
    counter tls_resumed{0};    // of those, resumed with a session ticket
    std::array<counter, tls_failure_names.size()> tls_failures{};
    std::array<counter, proxy_protocol_refusal_names.size()> proxy_protocol_refused{};
    http2_counters http2;
    socks5_counters socks5;
    counter http1_exchanges{0}; // exchanges by protocol: the rest came over HTTP/2
    counter http2_exchanges{0};
    // Exchanges by the first bucket they fit in (one store per exchange); the page adds
    // them up into Prometheus' cumulative buckets.
    std::array<counter, duration_buckets.size()> duration_in{};
    counter duration_count{0};
    counter duration_sum_us{0};

    // One finished exchange, as the access log sees it.
    void record(const exchange_record& r, std::chrono::steady_clock::duration took);
    // A request the access rules denied; `rule` as policy::acl_verdict numbers it.
    void denied(std::size_t rule);
    // Credentials that failed, on a request `rule` then decided (acl_verdict's numbering).
    void auth_failed_under(std::size_t rule);
    // A request refused by safe destinations, by its category's index in
    // destination_category_names.
    void destination_denied(std::size_t category);
};

// Values the shards do not hold (pool and DNS counters, read from their own stats).
struct upstream_figures {
    std::uint64_t pool_opened = 0, pool_reused = 0, pool_stale = 0, pool_evicted = 0, pool_idle = 0;
    std::uint64_t dns_cache_hits = 0, dns_cache_misses = 0;
    std::uint64_t admin_clients = 0; // live views open on the admin listener (SSE)
};

// The names of the [[acl]] rules in force, [0] for rule 1 ("" when unnamed): the by-rule
// families label their samples with them.
using acl_rule_names = std::vector<std::string>;

// The whole page: the sum of the shards, and the upstream figures.
std::string render_metrics(const std::vector<const metrics_shard*>& shards,
                           const upstream_figures& upstream, const acl_rule_names& rules = {});

} // namespace ferry::observe
