#include "app/status_page.h"

#include "observe/counter.h"

#include <fmt/format.h>

namespace ferry::app {

namespace {

using out_it = std::back_insert_iterator<std::string>;

void add_counters(const observe::metrics_shard& m, observe::status_snapshot& s) {
    using observe::read;
    s.client_connections += read(m.client_connections);
    s.upstream_connections += read(m.upstream_connections);
    s.parked += read(m.client_connections_parked);
    s.tunnels += read(m.tunnels);
    s.http2_connections += read(m.http2.connections);
    s.bytes_from_clients += read(m.bytes_from_clients);
    s.bytes_to_clients += read(m.bytes_to_clients);
    for (const auto& by_status : m.requests)
        for (std::size_t c = 0; c < by_status.size(); ++c) {
            const auto n = read(by_status[c]);
            s.requests += n;
            s.status[c] += n;
        }
}

// Rule 0 (the default policy) and every rule in force, by the workers' counts.
std::vector<observe::acl_figures> acl_rows(const std::vector<std::unique_ptr<worker>>& workers,
                                           const config::settings& running) {
    std::vector<observe::acl_figures> rows;
    for (std::size_t rule = 0; rule <= running.acl.size(); ++rule) {
        observe::acl_figures row;
        row.rule = rule;
        row.name = rule == 0 ? "default" : running.acl[rule - 1].name;
        const auto slot = observe::acl_rule_slot(rule);
        for (const auto& w : workers) {
            row.denials += observe::read(w->metrics().acl_denials_by_rule[slot]);
            row.auth_failures += observe::read(w->metrics().auth_failures_by_rule[slot]);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<const observe::timeline*> timelines(const std::vector<std::unique_ptr<worker>>& ws) {
    std::vector<const observe::timeline*> out;
    for (const auto& w : ws)
        out.push_back(&w->timeline());
    return out;
}

std::string escaped(std::string_view text) {
    std::string out;
    append_html_escaped(text, out);
    return out;
}

std::string utc(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

std::string joined(const std::vector<std::string>& items) {
    return items.empty() ? std::string("-") : escaped(fmt::format("{}", fmt::join(items, ", ")));
}

void process_table(const observe::status_snapshot& s, std::string& out) {
    auto it = out_it(out);
    out += "<table id=\"process\"><caption>Process</caption>\n";
    fmt::format_to(it, "<tr><th>version</th><td>{}</td></tr>\n", escaped(s.version));
    fmt::format_to(it, "<tr><th>started</th><td data-unix=\"{}\">{}</td></tr>\n", s.started,
                   utc(s.started));
    fmt::format_to(it, "<tr><th>uptime</th><td id=\"uptime\">{} s</td></tr>\n", s.now - s.started);
    fmt::format_to(it, "<tr><th>config file</th><td>{}</td></tr>\n",
                   s.config_file ? escaped(*s.config_file) : std::string("(none)"));
    fmt::format_to(it, "<tr><th>listening on</th><td>{}</td></tr>\n", joined(s.listen));
    fmt::format_to(it, "<tr><th>workers</th><td>{}</td></tr>\n</table>\n", s.workers);
}

void reload_table(const observe::status_snapshot& s, std::string& out) {
    out += "<table id=\"reloads\"><caption>Reloads</caption>\n"
           "<tr><th>at</th><th>result</th><th>message</th><th>changed</th>"
           "<th>restart needed</th></tr>\n";
    if (s.reloads.empty()) out += "<tr><td colspan=\"5\">no reload since start</td></tr>\n";
    for (const auto& r : s.reloads)
        fmt::format_to(out_it(out),
                       "<tr class=\"{}\"><td data-unix=\"{}\">{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td><td>{}</td></tr>\n",
                       r.ok ? "ok" : "failed", r.at, utc(r.at), r.ok ? "applied" : "failed",
                       escaped(r.message), joined(r.changed), joined(r.restart_needed));
    out += "</table>\n";
}

void figures_table(const observe::status_snapshot& s, std::string& out) {
    auto it = out_it(out);
    out += "<table id=\"figures\"><caption>Now and since start</caption>\n";
    auto row = [&](std::string_view id, std::string_view label, auto value) {
        fmt::format_to(it, "<tr><th>{}</th><td id=\"{}\">{}</td></tr>\n", label, id, value);
    };
    row("client_connections", "client connections", s.client_connections);
    row("upstream_connections", "upstream connections", s.upstream_connections);
    row("parked", "parked clients", s.parked);
    row("tunnels", "tunnels", s.tunnels);
    row("http2_connections", "HTTP/2 connections", s.http2_connections);
    row("requests", "requests", s.requests);
    row("bytes_from_clients", "bytes from clients", s.bytes_from_clients);
    row("bytes_to_clients", "bytes to clients", s.bytes_to_clients);
    for (std::size_t c : {1, 2, 3, 4, 5, 0})
        row(fmt::format("status_{}", observe::status_class_names[c]),
            fmt::format("answered {}",
                        c == 0 ? "nothing (000)" : std::string(observe::status_class_names[c])),
            s.status[c]);
    row("dns_hit_rate", "DNS cache hit rate",
        fmt::format("{:.1f}% ({} hits, {} misses)", observe::dns_hit_rate(s) * 100, s.dns_hits,
                    s.dns_misses));
    row("pool", "upstream pool",
        fmt::format("{} opened, {} reused, {} idle", s.pool_opened, s.pool_reused, s.pool_idle));
    out += "</table>\n";
}

void acl_table(const observe::status_snapshot& s, std::string& out) {
    out += "<table id=\"acl\"><caption>Access rules</caption>\n"
           "<tr><th>rule</th><th>name</th><th>denials</th><th>auth failures</th></tr>\n";
    for (const auto& a : s.acl)
        fmt::format_to(out_it(out), "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       a.rule, escaped(a.name), a.denials, a.auth_failures);
    out += "</table>\n";
}

void hosts_table(const observe::status_snapshot& s, std::string& out) {
    out += "<table id=\"hosts\"><caption>Origins (busiest first)</caption>\n"
           "<tr><th>host</th><th>requests</th><th>bytes from clients</th>"
           "<th>bytes to clients</th><th>errors</th><th>new connections</th>"
           "<th>reused connections</th></tr>\n";
    if (s.hosts.empty()) out += "<tr><td colspan=\"7\">no exchange yet</td></tr>\n";
    for (const auto& h : s.hosts)
        fmt::format_to(out_it(out),
                       "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td></tr>\n",
                       escaped(h.host), h.figures.requests, h.figures.bytes_from_clients,
                       h.figures.bytes_to_clients, h.figures.errors, h.figures.new_connections,
                       h.figures.reused_connections);
    out += "</table>\n";
}

} // namespace

std::int64_t unix_now() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

observe::upstream_figures gather_upstream(const std::vector<std::unique_ptr<worker>>& workers) {
    observe::upstream_figures up;
    for (const auto& w : workers) {
        const auto& p = w->pool().stats();
        up.pool_opened += observe::read(p.opened);
        up.pool_reused += observe::read(p.reused);
        up.pool_stale += observe::read(p.stale);
        up.pool_evicted += observe::read(p.evicted);
        up.pool_idle += observe::read(p.idle);
        const auto& d = w->resolver().stats();
        up.dns_cache_hits += observe::read(d.cache_hits);
        up.dns_cache_misses += observe::read(d.cache_misses);
    }
    return up;
}

observe::status_snapshot gather_status(const std::vector<std::unique_ptr<worker>>& workers,
                                       const config::settings& running, const process_facts& facts,
                                       std::int64_t now, bool with_series) {
    observe::status_snapshot s;
    s.version = FERRY_VERSION;
    s.now = now;
    s.started = facts.started;
    if (!running.config_file.empty()) s.config_file = running.config_file;
    s.listen = facts.listen;
    s.workers = unsigned(workers.size());
    if (facts.reloads) s.reloads.assign(facts.reloads->begin(), facts.reloads->end());
    for (const auto& w : workers)
        add_counters(w->metrics(), s);
    const auto up = gather_upstream(workers);
    s.dns_hits = up.dns_cache_hits;
    s.dns_misses = up.dns_cache_misses;
    s.pool_opened = up.pool_opened;
    s.pool_reused = up.pool_reused;
    s.pool_idle = up.pool_idle;
    s.acl = acl_rows(workers, running);
    std::vector<const observe::host_table*> tables;
    for (const auto& w : workers)
        tables.push_back(&w->hosts());
    s.hosts = observe::top_hosts(tables, 20);
    if (with_series) {
        s.series_last = now - 1; // the last complete second
        s.series =
            observe::merge_seconds(timelines(workers), s.series_last, observe::timeline_seconds);
    }
    return s;
}

observe::second_sample gather_second(const std::vector<std::unique_ptr<worker>>& workers,
                                     std::int64_t second) {
    auto merged = observe::merge_seconds(timelines(workers), second, 1);
    return merged.front();
}

void append_html_escaped(std::string_view text, std::string& out) {
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
}

std::string status_tables_html(const observe::status_snapshot& s) {
    std::string out;
    process_table(s, out);
    reload_table(s, out);
    figures_table(s, out);
    acl_table(s, out);
    hosts_table(s, out);
    return out;
}

std::string flow_blocks_html(const std::vector<observe::flow_entry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        fmt::format_to(out_it(out), "<pre class=\"flow-block\" data-seq=\"{}\" data-client=\"",
                       e.seq);
        append_html_escaped(e.client, out);
        out += "\" data-host=\"";
        append_html_escaped(e.host, out);
        fmt::format_to(out_it(out), "\" data-status=\"{}\" data-method=\"", e.status);
        append_html_escaped(e.method, out);
        out += "\">";
        append_html_escaped(e.block, out);
        out += "</pre>\n";
    }
    return out;
}

std::string fill_marker(std::string_view page, std::string_view marker, std::string_view content) {
    auto at = page.find(marker);
    std::size_t skip = marker.size();
    if (at == std::string_view::npos) {
        at = page.rfind("</body>");
        if (at == std::string_view::npos) at = page.size();
        skip = 0;
    }
    std::string out(page.substr(0, at));
    out += content;
    out += page.substr(at + skip);
    return out;
}

} // namespace ferry::app
