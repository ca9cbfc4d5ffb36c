#include "proxy/tunnel_peek.h"

#include <algorithm>
#include <fmt/format.h>

namespace ferry::proxy {

namespace {

using tls::hello_verdict;
using policy_kind = config::tunnel_sni_policy;
using observe::tunnel_refusal;

bool same_name(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view policy_name(policy_kind p) {
    return p == policy_kind::match ? "match" : p == policy_kind::require ? "require" : "any";
}

peek_refusal refusal(tunnel_refusal reason, policy_kind p, std::string what) {
    return {reason,
            fmt::format("ferry: tunnel refused: {} (tunnel_sni = {})", what, policy_name(p))};
}

bool any_destination_rule(const std::vector<config::acl_rule>& rules) {
    return std::any_of(rules.begin(), rules.end(),
                       [](const config::acl_rule& r) { return r.has_destinations(); });
}

} // namespace

bool hold_first_bytes(config::tunnel_sni_policy policy,
                      const std::vector<config::acl_rule>& rules) {
    return policy != policy_kind::any || any_destination_rule(rules);
}

std::optional<peek_refusal> judge_first_bytes(config::tunnel_sni_policy policy,
                                              const tls::client_hello_reader& reader,
                                              std::string_view connect_host) {
    if (policy == policy_kind::any) return std::nullopt;
    const bool require = policy == policy_kind::require;
    switch (reader.verdict()) {
    case hello_verdict::need_more: // the client sent nothing: nothing to judge
        return std::nullopt;
    case hello_verdict::not_tls:
        if (!require) return std::nullopt;
        return refusal(tunnel_refusal::not_tls, policy, "not TLS: " + reader.problem());
    case hello_verdict::malformed:
    case hello_verdict::too_large:
        // A hello ferry cannot read could name any server: refused, as one naming another.
        return refusal(tunnel_refusal::unreadable, policy,
                       fmt::format("unreadable TLS hello ({}): {}",
                                   tls::verdict_name(reader.verdict()), reader.problem()));
    case hello_verdict::hello:
        break;
    }
    const auto& hello = reader.hello();
    if (hello.sni.empty()) {
        if (!require) return std::nullopt;
        return refusal(tunnel_refusal::no_sni, policy, "the TLS hello names no server");
    }
    if (!hello.sni_valid)
        return refusal(tunnel_refusal::sni_mismatch, policy,
                       fmt::format("TLS server name {} is not a DNS name", hello.sni));
    if (!same_name(hello.sni, connect_host))
        return refusal(
            tunnel_refusal::sni_mismatch, policy,
            fmt::format("TLS server name {} is not the CONNECT host {}", hello.sni, connect_host));
    return std::nullopt;
}

std::optional<peek_refusal> unjudgeable_by_rules(const tls::client_hello_reader& reader,
                                                 const std::vector<config::acl_rule>& rules) {
    if (!any_destination_rule(rules)) return std::nullopt;
    constexpr std::string_view why = "access rules name destinations";
    switch (reader.verdict()) {
    case hello_verdict::malformed:
    case hello_verdict::too_large:
        return peek_refusal{tunnel_refusal::unreadable,
                            fmt::format("ferry: tunnel refused: unreadable TLS hello ({}): {} ({})",
                                        tls::verdict_name(reader.verdict()), reader.problem(),
                                        why)};
    case hello_verdict::hello:
        if (!reader.hello().sni.empty() && !reader.hello().sni_valid)
            return peek_refusal{
                tunnel_refusal::acl,
                fmt::format("ferry: tunnel refused: TLS server name {} is not a DNS name ({})",
                            reader.hello().sni, why)};
        return std::nullopt;
    default:
        return std::nullopt;
    }
}

bool sni_needs_access_check(const tls::client_hello_reader& reader, std::string_view connect_host,
                            const std::vector<config::acl_rule>& rules) {
    if (reader.verdict() != hello_verdict::hello) return false;
    const auto& hello = reader.hello();
    return !hello.sni.empty() && hello.sni_valid && !same_name(hello.sni, connect_host) &&
           any_destination_rule(rules);
}

std::optional<peek_refusal> sni_access_refusal(const policy::acl_verdict& verdict,
                                               std::string_view sni) {
    using kind = policy::acl_verdict::kind;
    if (verdict.what == kind::allow) return std::nullopt;
    std::string why = verdict.reason;
    constexpr std::string_view prefix = "ferry: ";
    if (why.starts_with(prefix)) why.erase(0, prefix.size());
    if (verdict.what == kind::need_auth)
        why = fmt::format("access rule {} asks for credentials the client did not give",
                          verdict.rule);
    return peek_refusal{tunnel_refusal::acl,
                        fmt::format("ferry: tunnel refused: TLS server name {}: {}", sni, why),
                        verdict.rule};
}

} // namespace ferry::proxy
