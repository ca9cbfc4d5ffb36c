#include "observe/host_table.h"

#include "http/chars.h"
#include "http/target.h"

#include <algorithm>
#include <charconv>

namespace ferry::observe {

void host_figures::add(const host_figures& o) {
    requests += o.requests;
    bytes_from_clients += o.bytes_from_clients;
    bytes_to_clients += o.bytes_to_clients;
    errors += o.errors;
    new_connections += o.new_connections;
    reused_connections += o.reused_connections;
}

bool exchange_host(const exchange_record& r, std::string& out) {
    // The authority alone is parsed (the proxy judged the whole target already): a full
    // parse_request_target costs several times more, per exchange.
    std::string_view authority = r.target;
    std::uint16_t default_port = 0;
    if (!r.connect_like()) {
        const auto scheme_end = authority.find("://");
        if (scheme_end == std::string_view::npos) return false;
        const auto scheme = authority.substr(0, scheme_end);
        if (http::iequals(scheme, "http"))
            default_port = 80;
        else if (http::iequals(scheme, "https"))
            default_port = 443;
        else
            return false;
        authority.remove_prefix(scheme_end + 3);
        authority = authority.substr(0, authority.find_first_of("/?#"));
    }
    if (authority.find('@') != std::string_view::npos) return false; // userinfo: refused
    http::target t;
    if (http::parse_authority(authority, default_port, t.where) != http::target_error::none ||
        t.where.port == 0)
        return false;
    out.clear();
    if (t.where.ipv6) out.push_back('[');
    for (char c : t.where.host)
        out.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    if (t.where.ipv6) out.push_back(']');
    out.push_back(':');
    char port[8];
    auto end = std::to_chars(port, port + sizeof port, t.where.port).ptr;
    out.append(port, end);
    return true;
}

host_figures exchange_figures(const exchange_record& r) {
    host_figures f;
    f.requests = 1;
    f.bytes_from_clients = r.bytes_from_client;
    f.bytes_to_clients = r.bytes_to_client;
    f.errors = r.status == 0 || r.status >= 500 ? 1 : 0;
    if (!r.upstream.empty()) (r.upstream_new ? f.new_connections : f.reused_connections) = 1;
    return f;
}

void host_table::record(const exchange_record& r) {
    const auto figures = exchange_figures(r);
    std::lock_guard lock(mutex_);
    if (!exchange_host(r, key_)) return;
    auto it = rows_.find(std::string_view(key_));
    if (it == rows_.end()) {
        if (rows_.size() >= max_hosts_) key_ = other_hosts;
        it = rows_.try_emplace(key_).first;
    }
    it->second.add(figures);
}

void host_table::add_to(std::map<std::string, host_figures, std::less<>>& merged) const {
    std::lock_guard lock(mutex_);
    for (const auto& [host, figures] : rows_) {
        auto it = merged.find(host);
        if (it == merged.end()) it = merged.try_emplace(host).first;
        it->second.add(figures);
    }
}

std::vector<host_row> top_hosts(std::span<const host_table* const> tables, std::size_t n) {
    std::map<std::string, host_figures, std::less<>> merged;
    for (const auto* t : tables)
        t->add_to(merged);
    std::vector<host_row> rows;
    rows.reserve(merged.size());
    for (auto& [host, figures] : merged)
        rows.push_back({host, figures});
    auto busier = [](const host_row& a, const host_row& b) {
        if (a.figures.requests != b.figures.requests)
            return a.figures.requests > b.figures.requests;
        const auto bytes_a = a.figures.bytes_from_clients + a.figures.bytes_to_clients;
        const auto bytes_b = b.figures.bytes_from_clients + b.figures.bytes_to_clients;
        if (bytes_a != bytes_b) return bytes_a > bytes_b;
        return a.host < b.host;
    };
    std::sort(rows.begin(), rows.end(), busier);
    if (rows.size() > n) rows.resize(n);
    return rows;
}

} // namespace ferry::observe
