#include "policy/acl.h"

#include "policy/host_match.h"
#include "util/cidr_set.h"
#include "util/domain_set.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::policy {

namespace asio = boost::asio;

namespace {

asio::ip::address unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

std::string display(const asio::ip::address& a) {
    return unmapped(a).to_string();
}

util::ip_bytes bytes_of(const asio::ip::address& address) {
    const auto a = unmapped(address);
    util::ip_bytes out;
    out.v4 = a.is_v4();
    if (out.v4) {
        const auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.bytes.begin());
    } else {
        out.bytes = a.to_v6().to_bytes();
    }
    return out;
}

// A list file's networks hold the address (unmapped, as the inline CIDRs see it).
bool listed(const config::acl_rule::list_files& list, const asio::ip::address& address) {
    return list.networks && list.networks->contains(bytes_of(address));
}

// A dest_file entry matches the host (a name by its labels, an IP literal by its networks)
// or the address it resolved to: the same meaning as the inline `dest` entries.
bool listed(const config::acl_rule::list_files& list, std::string_view host,
            const asio::ip::address* address) {
    if (list.networks && (list.networks->contains_literal(host) ||
                          (address && list.networks->contains(bytes_of(*address)))))
        return true;
    return list.names && list.names->contains(host);
}

// The condition holds when the inline list or any of the rule's files matches.
bool client_matches(const config::acl_rule& rule, const asio::ip::address& client) {
    if (!rule.has_clients()) return true;
    if (listed(rule.client_files, client)) return true;
    if (rule.clients.empty()) return false;
    const auto text = display(client);
    return std::any_of(rule.clients.begin(), rule.clients.end(),
                       [&](const config::direct_rule& r) { return matches(r, text); });
}

bool destination_matches(const config::acl_rule& rule, std::string_view host,
                         const asio::ip::address* address) {
    if (!rule.has_destinations()) return true;
    if (listed(rule.dest_files, host, address)) return true;
    if (rule.destinations.empty()) return false;
    const std::string resolved = address ? display(*address) : std::string();
    return std::any_of(
        rule.destinations.begin(), rule.destinations.end(), [&](const config::direct_rule& r) {
            if (matches(r, host)) return true;
            return address && r.what == config::direct_rule::kind::cidr && matches(r, resolved);
        });
}

bool user_listed(const config::acl_rule& rule, const std::string& user) {
    return std::any_of(rule.users.begin(), rule.users.end(),
                       [&](const std::string& u) { return u == "*" || u == user; });
}

std::string rule_label(const config::acl_rule& rule, std::size_t index) {
    if (!rule.name.empty()) return fmt::format("access rule {} (\"{}\")", index, rule.name);
    return fmt::format("access rule {}", index);
}

} // namespace

bool is_loopback(const asio::ip::address& a) {
    return unmapped(a).is_loopback();
}

bool is_private(const asio::ip::address& address) {
    const auto a = unmapped(address);
    if (a.is_loopback()) return true;
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168);
    }
    return (a.to_v6().to_bytes()[0] & 0xfe) == 0xfc; // fc00::/7, unique local (RFC 4193)
}

default_policy default_for(const std::vector<asio::ip::address>& listeners) {
    for (const auto& a : listeners)
        if (!is_loopback(a)) return default_policy::loopback_and_private;
    return default_policy::loopback_only;
}

bool needs_address(const std::vector<config::acl_rule>& rules, std::string_view host) {
    boost::system::error_code ec;
    asio::ip::make_address(std::string(host), ec);
    if (!ec) return false; // a literal: already matched as it is
    for (const auto& rule : rules) {
        for (const auto& d : rule.destinations)
            if (d.what == config::direct_rule::kind::cidr) return true;
        if (rule.dest_files.networks && !rule.dest_files.networks->empty()) return true;
    }
    return false;
}

rule_outcome judge_rule(const config::acl_rule& rule, const acl_request& request) {
    if (!client_matches(rule, request.client)) return rule_outcome::client;
    if (!destination_matches(rule, request.host, request.address)) return rule_outcome::destination;
    if (!rule.ports.empty() &&
        std::find(rule.ports.begin(), rule.ports.end(), request.port) == rule.ports.end())
        return rule_outcome::port;
    if (!rule.methods.empty() &&
        std::find(rule.methods.begin(), rule.methods.end(), request.method) == rule.methods.end())
        return rule_outcome::method;
    if (rule.users_given) {
        // Who the client is decides this rule: without credentials, ask for them.
        if (request.user == nullptr)
            return request.auth_available ? rule_outcome::asks_credentials
                                          : rule_outcome::no_way_to_authenticate;
        if (!user_listed(rule, *request.user)) return rule_outcome::user;
    }
    return rule_outcome::matched;
}

namespace {

// The one loop over the rules; `tried` (when not null) records each rule's outcome.
acl_verdict decide(const std::vector<config::acl_rule>& rules, default_policy fallback,
                   const acl_request& request, std::vector<rule_outcome>* tried) {
    using kind = acl_verdict::kind;
    if (rules.empty()) {
        const bool allowed = fallback == default_policy::loopback_only ? is_loopback(request.client)
                                                                       : is_private(request.client);
        if (!allowed)
            return {kind::deny, 0,
                    fmt::format("ferry: client {} is not allowed: without access rules ferry "
                                "serves {} clients only",
                                display(request.client),
                                fallback == default_policy::loopback_only
                                    ? "loopback"
                                    : "loopback and private-network")};
        if (request.auth_available && request.user == nullptr) return {kind::need_auth, 0, {}};
        return {kind::allow, 0, {}};
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& rule = rules[i];
        const auto outcome = judge_rule(rule, request);
        if (tried) tried->push_back(outcome);
        if (outcome == rule_outcome::asks_credentials) return {kind::need_auth, i + 1, {}};
        if (outcome != rule_outcome::matched) continue;
        if (rule.action == config::acl_rule::verdict::allow) return {kind::allow, i + 1, {}};
        return {kind::deny, i + 1, fmt::format("ferry: denied by {}", rule_label(rule, i + 1))};
    }
    return {kind::deny, 0, "ferry: no access rule allows this request"};
}

} // namespace

acl_verdict evaluate(const std::vector<config::acl_rule>& rules, default_policy fallback,
                     const acl_request& request) {
    return decide(rules, fallback, request, nullptr);
}

acl_verdict evaluate(const std::vector<config::acl_rule>& rules, default_policy fallback,
                     const acl_request& request, std::vector<rule_outcome>& tried) {
    tried.clear();
    return decide(rules, fallback, request, &tried);
}

} // namespace ferry::policy
