#include "observe/status_json.h"

#include "observe/log_escape.h"

#include <fmt/format.h>

namespace ferry::observe {

namespace {

using out_it = std::back_insert_iterator<std::string>;

void strings(const std::vector<std::string>& list, std::string& out) {
    out += '[';
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i) out += ',';
        append_json_string(list[i], out);
    }
    out += ']';
}

void percentile(const std::optional<double>& ms, std::string& out) {
    if (ms)
        fmt::format_to(out_it(out), "{:.3f}", *ms);
    else
        out += "null";
}

void process(const status_snapshot& s, std::string& out) {
    fmt::format_to(out_it(out), R"({{"version":)");
    append_json_string(s.version, out);
    fmt::format_to(out_it(out), R"(,"now":{},"started":{},"uptime":{},"config":{{"file":)", s.now,
                   s.started, s.now - s.started);
    if (s.config_file)
        append_json_string(*s.config_file, out);
    else
        out += "null";
    out += R"(,"listen":)";
    strings(s.listen, out);
    fmt::format_to(out_it(out), R"(,"workers":{}}},"reloads":[)", s.workers);
    for (std::size_t i = 0; i < s.reloads.size(); ++i) {
        const auto& r = s.reloads[i];
        if (i) out += ',';
        fmt::format_to(out_it(out), R"({{"at":{},"ok":{},"message":)", r.at, r.ok);
        append_json_string(r.message, out);
        out += R"(,"changed":)";
        strings(r.changed, out);
        out += R"(,"restart_needed":)";
        strings(r.restart_needed, out);
        out += '}';
    }
    out += ']';
}

void figures(const status_snapshot& s, std::string& out) {
    auto it = out_it(out);
    fmt::format_to(it,
                   R"(,"gauges":{{"client_connections":{},"upstream_connections":{},"parked":{},)"
                   R"("tunnels":{},"http2_connections":{}}})",
                   s.client_connections, s.upstream_connections, s.parked, s.tunnels,
                   s.http2_connections);
    fmt::format_to(it,
                   R"(,"totals":{{"requests":{},"bytes_from_clients":{},"bytes_to_clients":{},)"
                   R"("status":{{"1xx":{},"2xx":{},"3xx":{},"4xx":{},"5xx":{},"000":{}}}}})",
                   s.requests, s.bytes_from_clients, s.bytes_to_clients, s.status[1], s.status[2],
                   s.status[3], s.status[4], s.status[5], s.status[0]);
    fmt::format_to(it, R"(,"dns":{{"hits":{},"misses":{},"hit_rate":{:.4f}}})", s.dns_hits,
                   s.dns_misses, dns_hit_rate(s));
    fmt::format_to(it, R"(,"pool":{{"opened":{},"reused":{},"idle":{}}})", s.pool_opened,
                   s.pool_reused, s.pool_idle);
    out += R"(,"acl":[)";
    for (std::size_t i = 0; i < s.acl.size(); ++i) {
        const auto& a = s.acl[i];
        if (i) out += ',';
        fmt::format_to(it, R"({{"rule":{},"name":)", a.rule);
        append_json_string(a.name, out);
        fmt::format_to(it, R"(,"denials":{},"auth_failures":{}}})", a.denials, a.auth_failures);
    }
    out += R"(],"hosts":[)";
    for (std::size_t i = 0; i < s.hosts.size(); ++i) {
        const auto& h = s.hosts[i];
        if (i) out += ',';
        out += R"({"host":)";
        append_json_string(h.host, out);
        fmt::format_to(it,
                       R"(,"requests":{},"bytes_from_clients":{},"bytes_to_clients":{},)"
                       R"("errors":{},"new_connections":{},"reused_connections":{}}})",
                       h.figures.requests, h.figures.bytes_from_clients, h.figures.bytes_to_clients,
                       h.figures.errors, h.figures.new_connections, h.figures.reused_connections);
    }
    out += ']';
}

// "series": one array per figure, one element per second.
void series(const status_snapshot& s, std::string& out) {
    auto column = [&](std::string_view name, auto value) {
        fmt::format_to(out_it(out), R"(,"{}":[)", name);
        for (std::size_t i = 0; i < s.series.size(); ++i) {
            if (i) out += ',';
            value(i);
        }
        out += ']';
    };
    const auto first = s.series_last - std::int64_t(s.series.size()) + 1;
    out += R"(,"series":{"t":[)";
    for (std::size_t i = 0; i < s.series.size(); ++i) {
        if (i) out += ',';
        fmt::format_to(out_it(out), "{}", first + std::int64_t(i));
    }
    out += ']';
    auto number = [&](auto get) {
        return [&, get](std::size_t i) { fmt::format_to(out_it(out), "{}", get(s.series[i])); };
    };
    column("requests", number([](const second_sample& x) { return x.requests; }));
    column("bytes_from_clients",
           number([](const second_sample& x) { return x.bytes_from_clients; }));
    column("bytes_to_clients", number([](const second_sample& x) { return x.bytes_to_clients; }));
    for (std::size_t c : {1, 2, 3, 4, 5, 0})
        column(fmt::format("status_{}", status_class_names[c]),
               number([c](const second_sample& x) { return x.status[c]; }));
    for (auto [name, q] : {std::pair{"p50_ms", 0.50}, {"p95_ms", 0.95}, {"p99_ms", 0.99}})
        column(name, [&, q = q](std::size_t i) { percentile(s.series[i].percentile_ms(q), out); });
    out += '}';
}

void sample_json(const second_sample& x, std::int64_t second, std::string& out) {
    auto it = out_it(out);
    fmt::format_to(it,
                   R"(,"sample":{{"t":{},"requests":{},"bytes_from_clients":{},)"
                   R"("bytes_to_clients":{})",
                   second, x.requests, x.bytes_from_clients, x.bytes_to_clients);
    for (std::size_t c : {1, 2, 3, 4, 5, 0})
        fmt::format_to(it, R"(,"status_{}":{})", status_class_names[c], x.status[c]);
    for (auto [name, q] : {std::pair{"p50_ms", 0.50}, {"p95_ms", 0.95}, {"p99_ms", 0.99}}) {
        fmt::format_to(it, R"(,"{}":)", name);
        percentile(x.percentile_ms(q), out);
    }
    out += '}';
}

} // namespace

double dns_hit_rate(const status_snapshot& s) {
    const auto lookups = s.dns_hits + s.dns_misses;
    return lookups == 0 ? 0.0 : double(s.dns_hits) / double(lookups);
}

std::string status_json(const status_snapshot& s, const second_sample* sample,
                        std::int64_t sample_second) {
    std::string out;
    process(s, out);
    figures(s, out);
    if (!s.series.empty()) series(s, out);
    if (sample) sample_json(*sample, sample_second, out);
    out += '}';
    return out;
}

} // namespace ferry::observe
