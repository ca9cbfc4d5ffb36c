#include "observe/metrics.h"

#include "observe/counter.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

std::size_t method_slot(std::string_view method) {
    for (std::size_t i = 0; i < metric_methods.size(); ++i)
        if (metric_methods[i] == method) return i;
    return metric_methods.size();
}

std::size_t status_slot(int status) {
    if (status < 100 || status > 599) return 0;
    return static_cast<std::size_t>(status / 100);
}

template <class Get>
std::uint64_t sum(const std::vector<const metrics_shard*>& shards, Get get) {
    std::uint64_t total = 0;
    for (const auto* s : shards)
        total += read(get(*s));
    return total;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

using shard_list = std::vector<const metrics_shard*>;

// A family of one sample, summed over the shards.
void summed(std::string& out, const shard_list& shards, std::string_view name,
            std::string_view type, std::string_view help, const counter metrics_shard::*field) {
    family(out, name, type, help);
    sample(out, name,
           sum(shards, [&](const metrics_shard& s) -> const counter& { return s.*field; }));
}

// A family of one sample the shards do not hold.
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::uint64_t value) {
    family(out, name, type, help);
    sample(out, name, value);
}

void render_requests(std::string& out, const shard_list& shards) {
    family(out, "ferry_requests_total", "counter",
           "Exchanges finished, by method and status class (000: no answer was sent).");
    static constexpr std::array<std::string_view, status_slots> classes{"000", "1xx", "2xx",
                                                                        "3xx", "4xx", "5xx"};
    for (std::size_t m = 0; m < method_slots; ++m) {
        const std::string_view method = m < metric_methods.size() ? metric_methods[m] : "other";
        for (std::size_t c = 0; c < status_slots; ++c) {
            const auto n = sum(
                shards, [&](const metrics_shard& s) -> const counter& { return s.requests[m][c]; });
            if (n == 0) continue;
            fmt::format_to(std::back_inserter(out),
                           "ferry_requests_total{{method=\"{}\",code=\"{}\"}} {}\n", method,
                           classes[c], n);
        }
    }
}

// Client bytes and connections, upstream connections and tunnels: the shards' own figures.
void render_connections(std::string& out, const shard_list& shards) {
    summed(out, shards, "ferry_client_received_bytes_total", "counter",
           "Bytes received from clients (heads, bodies and tunnel bytes).",
           &metrics_shard::bytes_from_clients);
    summed(out, shards, "ferry_client_sent_bytes_total", "counter", "Bytes sent to clients.",
           &metrics_shard::bytes_to_clients);

    summed(out, shards, "ferry_client_connections", "gauge", "Client connections open now.",
           &metrics_shard::client_connections);
    summed(out, shards, "ferry_client_connections_parked", "gauge",
           "Idle keep-alive client connections held without a session.",
           &metrics_shard::client_connections_parked);
    summed(out, shards, "ferry_client_connections_total", "counter", "Client connections accepted.",
           &metrics_shard::client_connections_total);

    summed(out, shards, "ferry_client_connections_refused_total", "counter",
           "Client connections refused over the connection limits (answered 503).",
           &metrics_shard::client_connections_refused);

    summed(out, shards, "ferry_upstream_connections", "gauge",
           "Connections to origins or the parent open now (in use or idle in the pool).",
           &metrics_shard::upstream_connections);

    summed(out, shards, "ferry_tunnels", "gauge",
           "Tunnels open now (CONNECT and switched Upgrades).", &metrics_shard::tunnels);
    summed(out, shards, "ferry_tunnels_total", "counter", "Tunnels opened.",
           &metrics_shard::tunnels_total);
}

// The pool and DNS cache figures, read from their own stats.
void render_upstream(std::string& out, const upstream_figures& up) {
    single(out, "ferry_upstream_connections_opened_total", "counter",
           "New connections to origins or the parent proxy.", up.pool_opened);
    single(out, "ferry_upstream_pool_reused_total", "counter",
           "Requests sent on an idle pooled connection.", up.pool_reused);
    single(out, "ferry_upstream_pool_stale_total", "counter",
           "Pooled connections the origin closed or talked on while idle, or found so when about "
           "to be used.",
           up.pool_stale);
    single(out, "ferry_upstream_pool_evicted_total", "counter",
           "Pooled connections closed for a cap or the idle timeout.", up.pool_evicted);
    single(out, "ferry_upstream_pool_idle_connections", "gauge",
           "Idle upstream connections in the pools now.", up.pool_idle);

    single(out, "ferry_dns_cache_hits_total", "counter", "Names answered from the DNS cache.",
           up.dns_cache_hits);
    single(out, "ferry_dns_cache_misses_total", "counter", "Names that needed a DNS query.",
           up.dns_cache_misses);
}

// A label value: backslash, double quote and newline escaped (text format 0.0.4).
std::string label_value(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// One sample per rule in force, and rule 0 (the default policy); the rules past the last
// slot share it (rule="256+").
void by_rule(std::string& out, const shard_list& shards, std::string_view name,
             std::string_view help, const std::array<counter, acl_rule_slots> metrics_shard::*table,
             const acl_rule_names& rules) {
    family(out, name, "counter", help);
    const std::size_t shown = std::min(rules.size() + 1, acl_rule_slots);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto n =
            sum(shards, [&](const metrics_shard& s) -> const counter& { return (s.*table)[i]; });
        const bool overflow = i == acl_rule_slots - 1;
        fmt::format_to(std::back_inserter(out), "{}{{rule=\"{}\",name=\"{}\"}} {}\n", name,
                       overflow ? std::string("256+") : std::to_string(i),
                       i == 0 ? std::string("default")
                              : (overflow ? std::string() : label_value(rules[i - 1])),
                       n);
    }
}

void render_refusals(std::string& out, const shard_list& shards, const acl_rule_names& rules) {
    summed(out, shards, "ferry_acl_denials_total", "counter",
           "Requests denied by the access rules.", &metrics_shard::acl_denials);
    summed(out, shards, "ferry_auth_failures_total", "counter",
           "Proxy authentication attempts that failed.", &metrics_shard::auth_failures);
    by_rule(out, shards, "ferry_acl_denials_by_rule_total",
            "Requests denied, by the deciding access rule (0: the default policy).",
            &metrics_shard::acl_denials_by_rule, rules);
    by_rule(out, shards, "ferry_auth_failures_by_rule_total",
            "Failed proxy credentials, by the access rule that then decided (0: the default).",
            &metrics_shard::auth_failures_by_rule, rules);
    family(out, "ferry_destination_denials_total", "counter",
           "Requests refused by safe destinations (counted once, by the first refused address's "
           "category).");
    for (std::size_t i = 0; i < destination_category_names.size(); ++i) {
        const auto n = sum(shards, [&](const metrics_shard& s) -> const counter& {
            return s.destination_denials[i];
        });
        fmt::format_to(std::back_inserter(out),
                       "ferry_destination_denials_total{{category=\"{}\"}} {}\n",
                       destination_category_names[i], n);
    }
}

void render_tls(std::string& out, const shard_list& shards) {
    summed(out, shards, "ferry_tls_handshakes_total", "counter",
           "TLS handshakes completed with clients on https:// listeners.",
           &metrics_shard::tls_handshakes);
    summed(out, shards, "ferry_tls_resumed_total", "counter",
           "Of those, sessions resumed with a ticket.", &metrics_shard::tls_resumed);
    family(out, "ferry_tls_handshake_failures_total", "counter",
           "TLS handshakes with clients that failed, by reason.");
    for (std::size_t i = 0; i < tls_failure_names.size(); ++i) {
        const auto n = sum(
            shards, [&](const metrics_shard& s) -> const counter& { return s.tls_failures[i]; });
        fmt::format_to(std::back_inserter(out),
                       "ferry_tls_handshake_failures_total{{reason=\"{}\"}} {}\n",
                       tls_failure_names[i], n);
    }
}

void render_socks5(std::string& out, const shard_list& shards) {
    family(out, "ferry_socks5_handshake_failures_total", "counter",
           "SOCKS5 handshakes that failed before a request was served, by reason.");
    for (std::size_t i = 0; i < socks5_failure_names.size(); ++i) {
        const auto n = sum(shards, [&](const metrics_shard& s) -> const counter& {
            return s.socks5.handshake_failures[i];
        });
        fmt::format_to(std::back_inserter(out),
                       "ferry_socks5_handshake_failures_total{{reason=\"{}\"}} {}\n",
                       socks5_failure_names[i], n);
    }
    family(out, "ferry_socks5_replies_total", "counter", "SOCKS5 replies sent, by reply code.");
    for (std::size_t i = 0; i < socks5_reply_names.size(); ++i) {
        const auto n = sum(
            shards, [&](const metrics_shard& s) -> const counter& { return s.socks5.replies[i]; });
        fmt::format_to(std::back_inserter(out), "ferry_socks5_replies_total{{reply=\"{}\"}} {}\n",
                       socks5_reply_names[i], n);
    }
}

void render_proxy_protocol(std::string& out, const shard_list& shards) {
    family(out, "ferry_proxy_protocol_refused_total", "counter",
           "Connections to PROXY protocol listeners closed before their header, by reason.");
    for (std::size_t i = 0; i < proxy_protocol_refusal_names.size(); ++i) {
        const auto n = sum(shards, [&](const metrics_shard& s) -> const counter& {
            return s.proxy_protocol_refused[i];
        });
        fmt::format_to(std::back_inserter(out),
                       "ferry_proxy_protocol_refused_total{{reason=\"{}\"}} {}\n",
                       proxy_protocol_refusal_names[i], n);
    }
}

void render_durations(std::string& out, const shard_list& shards) {
    auto it = std::back_inserter(out);
    family(out, "ferry_request_duration_seconds", "histogram",
           "Time from a request's first byte to the end of its exchange.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < duration_buckets.size(); ++i) {
        cumulative +=
            sum(shards, [&](const metrics_shard& s) -> const counter& { return s.duration_in[i]; });
        fmt::format_to(it, "ferry_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                       duration_buckets[i], cumulative);
    }
    const auto count =
        sum(shards, [](const metrics_shard& s) -> const counter& { return s.duration_count; });
    fmt::format_to(it, "ferry_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", count);
    fmt::format_to(
        it, "ferry_request_duration_seconds_sum {:.6f}\n",
        double(sum(shards,
                   [](const metrics_shard& s) -> const counter& { return s.duration_sum_us; })) /
            1e6);
    fmt::format_to(it, "ferry_request_duration_seconds_count {}\n", count);
}

// HTTP/2 connections, streams, resets and GOAWAYs, and exchanges by protocol.
void render_http2(std::string& out, const shard_list& shards) {
    auto h2 = [&](auto field) {
        return sum(shards,
                   [&](const metrics_shard& s) -> const counter& { return s.http2.*field; });
    };
    family(out, "ferry_exchanges_total", "counter", "Exchanges finished, by client protocol.");
    fmt::format_to(
        std::back_inserter(out), "ferry_exchanges_total{{protocol=\"http1\"}} {}\n",
        sum(shards, [](const metrics_shard& s) -> const counter& { return s.http1_exchanges; }));
    fmt::format_to(
        std::back_inserter(out), "ferry_exchanges_total{{protocol=\"h2\"}} {}\n",
        sum(shards, [](const metrics_shard& s) -> const counter& { return s.http2_exchanges; }));
    single(out, "ferry_http2_connections", "gauge", "HTTP/2 client connections open now.",
           h2(&http2_counters::connections));
    single(out, "ferry_http2_connections_total", "counter", "HTTP/2 client connections accepted.",
           h2(&http2_counters::connections_total));
    single(out, "ferry_http2_streams_open", "gauge", "HTTP/2 streams open now.",
           h2(&http2_counters::streams));
    single(out, "ferry_http2_streams_total", "counter", "HTTP/2 streams opened by clients.",
           h2(&http2_counters::streams_total));
    static constexpr std::array<std::string_view, 2> sides{"client", "ferry"};
    static constexpr std::array<std::string_view, 2> goaway_sides{"received", "sent"};
    auto by_code = [&](std::string_view name, std::string_view help, auto table, auto side_names) {
        family(out, name, "counter", help);
        for (std::size_t side = 0; side < 2; ++side)
            for (std::size_t c = 0; c < http2_error_names.size(); ++c) {
                const auto n = sum(shards, [&](const metrics_shard& s) -> const counter& {
                    return (s.http2.*table)[side][c];
                });
                if (n == 0) continue;
                fmt::format_to(std::back_inserter(out), "{}{{side=\"{}\",reason=\"{}\"}} {}\n",
                               name, side_names[side], http2_error_names[c], n);
            }
    };
    by_code("ferry_http2_resets_total", "HTTP/2 streams reset (RST_STREAM), by who and why.",
            &http2_counters::resets, sides);
    by_code("ferry_http2_goaways_total", "HTTP/2 GOAWAY frames, received and sent, by code.",
            &http2_counters::goaways, goaway_sides);
    const auto idle = h2(&http2_counters::idle_connections);
    single(out, "ferry_http2_idle_connections", "gauge",
           "HTTP/2 client connections with no stream open.", idle);
    single(out, "ferry_http2_idle_connection_bytes", "gauge",
           "Memory one idle HTTP/2 connection holds (ferry's buffers and nghttp2's state), on "
           "average over the idle ones.",
           idle == 0 ? 0 : h2(&http2_counters::idle_bytes) / idle);
}

} // namespace

void metrics_shard::record(const exchange_record& r, std::chrono::steady_clock::duration took) {
    bump(r.stream != 0 ? http2_exchanges : http1_exchanges);
    bump(requests[method_slot(r.method)][status_slot(r.status)]);
    bump(bytes_from_clients, r.bytes_from_client);
    bump(bytes_to_clients, r.bytes_to_client);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    const double seconds = double(us) / 1e6;
    for (std::size_t i = 0; i < duration_buckets.size(); ++i)
        if (seconds <= duration_buckets[i]) {
            bump(duration_in[i]);
            break;
        }
    bump(duration_count);
    bump(duration_sum_us, us > 0 ? std::uint64_t(us) : 0);
}

void metrics_shard::denied(std::size_t rule) {
    bump(acl_denials);
    bump(acl_denials_by_rule[acl_rule_slot(rule)]);
}

void metrics_shard::destination_denied(std::size_t category) {
    if (category < destination_denials.size()) bump(destination_denials[category]);
}

void metrics_shard::auth_failed_under(std::size_t rule) {
    bump(auth_failures_by_rule[acl_rule_slot(rule)]);
}

std::string render_metrics(const std::vector<const metrics_shard*>& shards,
                           const upstream_figures& up, const acl_rule_names& rules) {
    std::string out;
    render_requests(out, shards);
    render_connections(out, shards);
    std::vector<const tunnel_tls_counters*> tunnel_tls;
    for (const auto* s : shards)
        tunnel_tls.push_back(&s->tunnel_tls);
    render_tunnel_tls(out, tunnel_tls);
    render_upstream(out, up);
    render_refusals(out, shards, rules);
    single(out, "ferry_admin_clients", "gauge",
           "Live views (Server-Sent Events streams) open on the admin listener.", up.admin_clients);
    render_tls(out, shards);
    render_proxy_protocol(out, shards);
    render_http2(out, shards);
    render_socks5(out, shards);
    render_durations(out, shards);
    return out;
}

} // namespace ferry::observe
