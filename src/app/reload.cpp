#include "app/reload.h"

namespace ferry::app {

namespace {

bool same(const config::dns_server& a, const config::dns_server& b) {
    return a.address == b.address && a.port == b.port;
}

bool same(const std::vector<config::dns_server>& a, const std::vector<config::dns_server>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
    return true;
}

bool same(const std::optional<config::listen_address>& a,
          const std::optional<config::listen_address>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->host == b->host && a->port == b->port);
}

template <class T, class Same>
void keep(const char* name, const T& running, T& next, Same equal,
          std::vector<std::string>& restart) {
    if (!equal(running, next)) {
        restart.emplace_back(name);
        next = running;
    }
}

} // namespace

reload_plan plan_reload(const config::settings& running, config::settings next) {
    reload_plan plan;
    auto eq = [](const auto& a, const auto& b) { return a == b; };
    auto eq_same = [](const auto& a, const auto& b) { return same(a, b); };
    keep("workers", running.workers, next.workers, eq, plan.restart);
    keep("dns_server", running.dns_servers, next.dns_servers, eq_same, plan.restart);
    keep("dns_timeout", running.dns_timeout, next.dns_timeout, eq, plan.restart);
    keep("dns_negative_ttl", running.dns_negative_ttl, next.dns_negative_ttl, eq, plan.restart);
    keep("dns_cache_size", running.dns_cache_size, next.dns_cache_size, eq, plan.restart);
    keep("access_log", running.access_log, next.access_log, eq, plan.restart);
    keep("flow", running.flow, next.flow, eq, plan.restart);
    keep("admin_listen", running.admin_listen, next.admin_listen, eq_same, plan.restart);
    keep("user", running.user, next.user, eq, plan.restart);
    // The htpasswd file is read again on reload; turning authentication on or off, or a new
    // realm, needs a restart.
    auto on_off = [](const std::string& a, const std::string& b) { return a.empty() == b.empty(); };
    keep("auth.htpasswd", running.auth.htpasswd, next.auth.htpasswd, on_off, plan.restart);
    keep("auth.realm", running.auth.realm, next.auth.realm, eq, plan.restart);
    plan.next = std::move(next);
    return plan;
}

} // namespace ferry::app
