#include "app/explain.h"

#include "app/explain_request.h"
#include "app/explain_text.h"
#include "http/chars.h"
#include "http/head_parser.h"
#include "policy/destinations.h"
#include "proxy/decision.h"
#include "upstream/address_order.h"
#include "upstream/connector.h"
#include "upstream/route.h"

#include <fmt/format.h>

namespace ferry::app {

namespace asio = boost::asio;
using kind = policy::acl_verdict::kind;

namespace {

explain_state usage(std::string message) {
    explain_state s;
    s.out = {"ferry: explain: " + std::move(message) + "\n", 2};
    s.done = true;
    return s;
}

// The last line: what the client would get.
void verdict(explain_state& s, int status, std::string_view cause) {
    s.out.text += fmt::format("Verdict: refused: {} {}\n", status, cause);
    s.out.exit_code = 1;
    s.done = true;
}

std::string config_line(const config::settings& c) {
    if (c.config_file.empty()) return "Configuration: the command line only\n";
    return fmt::format("Configuration: {}\n", c.config_file);
}

// Who the access rules see: a user of the htpasswd file (its password is not checked here),
// or a client certificate's identity; a user ferry cannot know is as good as none.
void judge_user(const explain_env& env, const explain_args& args, explain_state& s) {
    const auto& c = env.settings;
    if (!args.user) {
        s.out.text += env.users ? fmt::format("Authentication: no user given (--user NAME to "
                                              "judge one of {})\n",
                                              c.auth.htpasswd)
                                : "Authentication: no user given; ferry has no htpasswd file\n";
        return;
    }
    const auto& user = *args.user;
    if (env.users && env.users->find(user)) {
        s.out.text += fmt::format("Authentication: user {} is in {} (the password is not "
                                  "checked here)\n",
                                  user, c.auth.htpasswd);
        s.acl_user = user;
    } else if (!c.tls.client_ca.empty()) {
        s.out.text += fmt::format("Authentication: {} is taken as a client certificate's "
                                  "identity (tls_client_identity = {}){}\n",
                                  user, c.tls.client_identity,
                                  env.users ? fmt::format("; it is not in {}", c.auth.htpasswd)
                                            : std::string());
        s.acl_user = user;
    } else if (env.users) {
        s.out.text += fmt::format("Authentication: user {} is not in {}: ferry refuses such "
                                  "credentials (an auth failure is logged) and judges the request "
                                  "as without a user\n",
                                  user, c.auth.htpasswd);
    } else {
        s.out.text += fmt::format("Authentication: ferry has no htpasswd file and no client "
                                  "certificates: user {} is ignored\n",
                                  user);
    }
}

policy::acl_request acl_request_of(const explain_env& env, const explain_state& s,
                                   const asio::ip::address* address) {
    policy::acl_request r;
    r.client = s.client;
    r.host = s.host;
    r.port = s.port;
    r.method = s.method;
    r.user = s.acl_user ? &*s.acl_user : nullptr;
    r.address = address;
    r.auth_available = env.users != nullptr;
    return r;
}

// The access rules, each tried rule with why it did or did not match.
void judge_access(const explain_env& env, const explain_args& args, explain_state& s) {
    const auto& rules = env.settings.acl;
    const auto request = acl_request_of(env, s, nullptr);
    std::vector<policy::rule_outcome> tried;
    const auto v = policy::evaluate(rules, env.fallback, request, tried);
    if (rules.empty()) {
        const bool loopback = env.fallback == policy::default_policy::loopback_only;
        s.out.text += fmt::format(
            "Access: {} by the default policy (no [[acl]] rules): ferry serves {} clients only "
            "({}), and client {} {}\n",
            v.what == kind::deny ? "denied" : "allowed",
            loopback ? "loopback" : "loopback and private-network",
            loopback ? "every listener is on a loopback address"
                     : "a listener is not on a loopback address",
            s.client.to_string(), v.what == kind::deny ? "is not one" : "is one");
    } else {
        if (v.what == kind::deny && v.rule == 0)
            s.out.text += "Access: denied: no access rule matches\n";
        else
            s.out.text += fmt::format("Access: {} by {}\n",
                                      v.what == kind::allow  ? "allowed"
                                      : v.what == kind::deny ? "denied"
                                                             : "credentials asked for",
                                      acl_label(rules[v.rule - 1], v.rule));
        for (std::size_t i = 0; i < tried.size(); ++i)
            s.out.text += fmt::format("  {}: {}\n", acl_label(rules[i], i + 1),
                                      outcome_text(rules[i], tried[i], request));
    }
    if (v.what == kind::deny) return verdict(s, 403, v.reason);
    if (v.what == kind::need_auth) {
        const bool refused = args.user && env.users && !env.users->find(*args.user);
        return verdict(s, 407,
                       refused ? "ferry: proxy authentication failed"
                               : "ferry: proxy authentication required");
    }
}

void judge_route(const explain_env& env, explain_state& s) {
    const auto& c = env.settings;
    const auto why = upstream::why_route(c, s.host);
    s.direct = !why.parent;
    if (!c.parent)
        s.out.text += "Route: direct (no parent proxy)\n";
    else if (why.parent)
        s.out.text +=
            fmt::format("Route: through the parent proxy {}{}: no --direct rule matches {}{}\n",
                        c.parent->tls ? "https://" : "",
                        upstream::host_port_label(c.parent->host, c.parent->port), s.host,
                        c.direct.empty() ? "" : fmt::format(" ({})", rules_text(c.direct)));
    else
        s.out.text +=
            fmt::format("Route: direct: --direct rule {} ({}) matches {}\n", why.direct_rule,
                        rule_text(c.direct[why.direct_rule - 1]), s.host);
}

std::string ports_text(const std::vector<std::uint16_t>& ports) {
    if (ports.empty()) return "any";
    return fmt::format("{}", fmt::join(ports, ","));
}

// The request as the proxy's parser and proxy::decide() see it; false when that settles it.
bool judge_request(const explain_env& env, const explain_args& args, explain_state& s) {
    const auto& c = env.settings;
    explain_request request;
    if (auto problem = make_explain_request(args.target, args.method, request); !problem.empty()) {
        s = usage(problem);
        return false;
    }
    http::request_head head;
    if (auto e = http::parse_request_head(request.head, c.max_target_size, head);
        e != http::parse_error::none) {
        s = usage(std::string(http::describe(e)));
        return false;
    }
    const auto d = proxy::decide(head, env.self, c.connect_ports);
    s.out.text += fmt::format("Request: {} from {}{}\n", request.line, s.client.to_string(),
                              args.user ? ", user " + *args.user : std::string(", no user"));
    s.out.text += config_line(c);
    if (d.kind == proxy::action::reject && d.problem.code == core::errc::bad_request) {
        const std::string_view cause = d.problem.cause;
        s = usage(std::string(cause.substr(cause.starts_with("ferry: ") ? 7 : 0)));
        return false;
    }
    s.method = std::string(head.method);
    s.tunnel = s.method == "CONNECT";
    // A refused decision carries no target: the port is read from the request's own.
    http::authority where = d.target.where;
    if (s.tunnel && d.kind == proxy::action::reject) http::parse_authority(head.target, 0, where);
    if (s.tunnel)
        s.out.text +=
            fmt::format("CONNECT ports: {} {} (--connect-ports {})\n", where.port,
                        d.kind == proxy::action::reject && d.problem.code == core::errc::forbidden
                            ? "is not allowed"
                            : "is allowed",
                        ports_text(c.connect_ports));
    if (d.kind == proxy::action::reject) {
        verdict(s, core::to_status(d.problem.code), d.problem.cause);
        return false;
    }
    if (d.kind == proxy::action::status_page) {
        s.out.text += "Verdict: addressed to ferry itself: answered with its status page\n";
        s.done = true;
        return false;
    }
    s.host = std::string(d.target.where.host);
    for (auto& ch : s.host)
        ch = http::to_lower(ch);
    s.port = d.target.where.port;
    return true;
}

// How long each wait may last for this request.
std::string timeouts_text(const config::settings& c, bool tunnel, bool parent) {
    std::string text = fmt::format(
        "Timeouts: connect {} (resolving included; each address {} while others remain, the "
        "next one started after {} without an answer; DNS {}{})",
        seconds_text(c.connect_timeout), seconds_text(c.connect_attempt_timeout),
        seconds_text(c.happy_eyeballs_delay), seconds_text(c.dns_timeout),
        parent && c.parent && c.parent->tls ? "; the TLS handshake with the parent within it" : "");
    if (tunnel)
        text += fmt::format(", tunnel idle {}, send {}", seconds_text(c.tunnel_idle_timeout),
                            seconds_text(c.send_timeout));
    else
        text += fmt::format(", response {}, send {}, client keep-alive {}, pooled upstream "
                            "connection idle {}",
                            seconds_text(c.response_timeout), seconds_text(c.send_timeout),
                            seconds_text(c.idle_timeout), seconds_text(c.pool_idle_timeout));
    return text + "\n";
}

std::string dns_source(const config::settings& c) {
    if (c.dns_servers.empty()) return "/etc/hosts, then the system's DNS servers";
    std::vector<std::string> servers;
    for (const auto& d : c.dns_servers)
        servers.push_back(upstream::host_port_label(d.address, d.port));
    return fmt::format("/etc/hosts, then DNS {}", fmt::join(servers, ", "));
}

bool safe_destinations(const explain_env& env) {
    return policy::safe_destinations_apply(env.settings, env.fallback);
}

bool deny_private(const explain_env& env) {
    return env.settings.private_destinations == "deny";
}

// Whether safe destinations apply, and why (shown before the addresses).
std::string destinations_line(const explain_env& env) {
    const auto& c = env.settings;
    if (!safe_destinations(env))
        return fmt::format("Destinations: safe destinations off ({}): any address the access "
                           "rules allow may be connected to\n",
                           c.safe_destinations == "off" ? "safe_destinations = off"
                                                        : "every listener is on loopback");
    return fmt::format("Destinations: safe destinations on ({}): loopback, link-local, cloud "
                       "metadata, unspecified, multicast, broadcast{} and the admin listener are "
                       "refused unless an access rule names them\n",
                       c.safe_destinations == "on" ? "safe_destinations = on"
                                                   : policy::exposure(c, env.fallback),
                       deny_private(env) ? ", private ranges" : "");
}

// The protected category of `a` for this request, ferry's admin listener included.
policy::destination_category category_of(const explain_env& env, const explain_state& s,
                                         const asio::ip::address& a) {
    if (proxy::is_self_endpoint({policy::reached_address(a), s.port}, env.admin))
        return policy::destination_category::admin_listener;
    return policy::classify(a, deny_private(env));
}

// One address, as the connector judges it before any attempt: ferry itself, an address the
// access rules deny, or a protected destination no rule names (the connector's own
// messages); "" when it may be tried. `note`: a protected address a rule re-opens.
std::string address_refusal(const explain_env& env, const explain_state& s,
                            const asio::ip::address& a, int& status, std::string& note) {
    if (proxy::is_self_endpoint({a, s.port}, env.self)) {
        status = core::to_status(core::errc::loop_detected);
        return fmt::format("ferry: {} is this proxy itself",
                           upstream::host_port_label(s.host, s.port));
    }
    const auto request = acl_request_of(env, s, &a);
    const auto v = policy::evaluate(env.settings.acl, env.fallback, request);
    status = 403;
    if (v.what != kind::allow && v.reason.empty())
        return fmt::format("ferry: {} ({}) needs authentication for its address",
                           upstream::host_port_label(s.host, s.port), a.to_string());
    if (v.what != kind::allow) return fmt::format("{} ({} is {})", v.reason, s.host, a.to_string());
    const auto category =
        safe_destinations(env) ? category_of(env, s, a) : policy::destination_category::none;
    if (category == policy::destination_category::none) return {};
    if (!policy::explicitly_allowed(env.settings.acl, v, s.host, a, category))
        return policy::destination_refusal(a, s.port, category);
    note = fmt::format("a protected destination, {}, that {} names",
                       policy::category_words(category, a),
                       acl_label(env.settings.acl[v.rule - 1], v.rule));
    return {};
}

// Through the parent ferry never sees a name's addresses: what the host says by itself (an
// IP literal, "localhost") is judged as the proxy judges it; false when that refuses it.
bool judge_parent_literal(const explain_env& env, explain_state& s) {
    if (!safe_destinations(env)) return true;
    for (const auto& a : proxy::parent_known_addresses(s.host)) {
        const auto category = category_of(env, s, a);
        if (category == policy::destination_category::none) continue;
        const auto request = acl_request_of(env, s, &a);
        const auto v = policy::evaluate(env.settings.acl, env.fallback, request);
        if (policy::explicitly_allowed(env.settings.acl, v, s.host, a, category)) continue;
        verdict(s, 403, policy::destination_refusal(a, s.port, category));
        return false;
    }
    return true;
}

void judge_addresses(const explain_env& env, explain_state& s, const explain_lookup& found) {
    auto addresses = s.resolve.empty() ? s.local : found.addresses;
    if (!s.resolve.empty() && addresses.empty()) {
        s.out.text += fmt::format("Addresses ({}): none\n", dns_source(env.settings));
        const auto& e = found.error;
        return verdict(s, core::to_status(e ? e.code : core::errc::resolve_failed),
                       e ? e.cause : fmt::format("ferry: cannot resolve {}", s.host));
    }
    addresses = upstream::interleave_families(addresses);
    s.out.text += destinations_line(env);
    s.out.text += fmt::format("Addresses ({}), in the order ferry tries them (every one judged "
                              "before the first attempt; refused ones are skipped):\n",
                              s.resolve.empty() ? "known without DNS" : dns_source(env.settings));
    // As the connector: every address judged first; ferry itself anywhere is a loop, denied
    // ones are left out (the others race), and with none left the first refusal answers.
    std::string first_refusal, loop;
    int first_status = 0;
    bool any_allowed = false;
    for (const auto& a : addresses) {
        int status = 0;
        std::string note;
        const auto refusal = address_refusal(env, s, a, status, note);
        const auto met = cidr_rules_met(env.settings.acl, a);
        std::string line = fmt::format("  {}: ", a.to_string());
        line += refusal.empty() ? "may be tried" : "refused before connecting: " + refusal;
        if (!note.empty()) line += "; " + note;
        if (!met.empty()) line += fmt::format("; meets {}", fmt::join(met, "; "));
        s.out.text += line + "\n";
        if (refusal.empty())
            any_allowed = true;
        else if (status == core::to_status(core::errc::loop_detected))
            loop = refusal;
        else if (first_refusal.empty()) {
            first_refusal = refusal;
            first_status = status;
        }
    }
    if (!loop.empty()) return verdict(s, core::to_status(core::errc::loop_detected), loop);
    if (!any_allowed && !first_refusal.empty()) return verdict(s, first_status, first_refusal);
}

} // namespace

std::string seconds_text(config::duration d) {
    if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
    return fmt::format("{} s", static_cast<double>(d.count()) / 1000.0);
}

explain_state explain_first(const explain_env& env, const explain_args& args) {
    explain_state s;
    boost::system::error_code ec;
    s.client = asio::ip::make_address(args.client, ec);
    if (ec) return usage(fmt::format("--client {}: expected an IP address", args.client));
    if (!judge_request(env, args, s)) return s;
    judge_user(env, args, s);
    judge_access(env, args, s);
    if (s.done) return s;
    judge_route(env, s);
    if (!s.direct) {
        s.out.text += destinations_line(env);
        if (!judge_parent_literal(env, s)) return s;
        s.out.text += fmt::format("Addresses: the parent proxy resolves {}; ferry resolves only "
                                  "the parent's name (safe destinations judge IP literals "
                                  "only)\n",
                                  s.host);
        return s;
    }
    switch (upstream::resolve_locally(s.host, s.local)) {
    case upstream::local_answer::invalid:
        s.out.text += fmt::format("Addresses: none: {} is a reserved name that never resolves "
                                  "(RFC 6761)\n",
                                  s.host);
        verdict(s, 502, fmt::format("ferry: cannot resolve {}", s.host));
        return s;
    case upstream::local_answer::needs_query:
        s.resolve = s.host;
        break;
    case upstream::local_answer::answered:
        break;
    }
    return s;
}

explain_outcome explain_finish(const explain_env& env, explain_state s,
                               const explain_lookup& found) {
    if (s.done) return std::move(s.out);
    if (s.direct) judge_addresses(env, s, found);
    if (s.done) return std::move(s.out);
    s.out.text += timeouts_text(env.settings, s.tunnel, !s.direct);
    s.out.text += s.direct ? "Verdict: allowed: ferry would connect to the origin\n"
                           : "Verdict: allowed: ferry would connect to the parent proxy\n";
    s.out.exit_code = 0;
    return std::move(s.out);
}

} // namespace ferry::app
