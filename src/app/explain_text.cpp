#include "app/explain_text.h"

#include "policy/host_match.h"
#include "util/cidr_set.h"

#include <fmt/format.h>

namespace ferry::app {

namespace {

std::string joined(const std::vector<std::string>& items) {
    return fmt::format("{}", fmt::join(items, ", "));
}

std::string address_text(const boost::asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

} // namespace

std::string rule_text(const config::direct_rule& r) {
    switch (r.what) {
    case config::direct_rule::kind::host:
        return r.name;
    case config::direct_rule::kind::suffix:
        return "." + r.name;
    case config::direct_rule::kind::cidr:
        return fmt::format("{}/{}", r.network, r.prefix);
    }
    return r.name;
}

std::string rules_text(const std::vector<config::direct_rule>& rules) {
    std::vector<std::string> items;
    for (const auto& r : rules)
        items.push_back(rule_text(r));
    return joined(items);
}

namespace {

// A condition's inline entries, then its list files (dest_file, client_file).
std::string condition_text(const std::vector<config::direct_rule>& rules,
                           const config::acl_rule::list_files& files) {
    std::vector<std::string> items;
    for (const auto& r : rules)
        items.push_back(rule_text(r));
    for (const auto& f : files.files)
        items.push_back(fmt::format("the entries of {}", f.path));
    return joined(items);
}

} // namespace

std::string acl_label(const config::acl_rule& rule, std::size_t index) {
    std::vector<std::string> notes;
    if (!rule.name.empty()) notes.push_back(fmt::format("\"{}\"", rule.name));
    if (rule.line != 0) notes.push_back(fmt::format("line {}", rule.line));
    if (notes.empty()) return fmt::format("rule {}", index);
    return fmt::format("rule {} ({})", index, joined(notes));
}

std::string outcome_text(const config::acl_rule& rule, policy::rule_outcome outcome,
                         const policy::acl_request& request) {
    using o = policy::rule_outcome;
    switch (outcome) {
    case o::matched:
        return rule.action == config::acl_rule::verdict::allow ? "matches: allow" : "matches: deny";
    case o::asks_credentials:
        return fmt::format("matches but names users ({}) and no credentials were given: "
                           "ferry answers 407 and asks for them",
                           joined(rule.users));
    case o::client:
        return fmt::format("no match: client {} is not in {}", address_text(request.client),
                           condition_text(rule.clients, rule.client_files));
    case o::destination:
        if (request.address)
            return fmt::format("no match: neither {} nor its address {} meets {}", request.host,
                               address_text(*request.address),
                               condition_text(rule.destinations, rule.dest_files));
        return fmt::format("no match: destination {} meets none of {}", request.host,
                           condition_text(rule.destinations, rule.dest_files));
    case o::port:
        return fmt::format("no match: port {} is not among {}", request.port,
                           fmt::join(rule.ports, ", "));
    case o::method:
        return fmt::format("no match: method {} is not among {}", request.method,
                           joined(rule.methods));
    case o::no_way_to_authenticate:
        return fmt::format("no match: it names users ({}) and there is no htpasswd file to ask "
                           "for credentials with",
                           joined(rule.users));
    case o::user:
        return fmt::format("no match: user {} is not among {}",
                           request.user ? *request.user : std::string("-"), joined(rule.users));
    }
    return "?";
}

std::vector<std::string> cidr_rules_met(const std::vector<config::acl_rule>& rules,
                                        const boost::asio::ip::address& address) {
    std::vector<std::string> out;
    const auto text = address_text(address);
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto verdict = rules[i].action == config::acl_rule::verdict::allow ? "allow" : "deny";
        for (const auto& d : rules[i].destinations)
            if (d.what == config::direct_rule::kind::cidr && policy::matches(d, text))
                out.push_back(
                    fmt::format("{} {}: {}", acl_label(rules[i], i + 1), verdict, rule_text(d)));
        const auto& files = rules[i].dest_files;
        if (files.networks && files.networks->contains_literal(text))
            out.push_back(fmt::format("{} {}: {}", acl_label(rules[i], i + 1), verdict,
                                      condition_text({}, files)));
    }
    return out;
}

} // namespace ferry::app
