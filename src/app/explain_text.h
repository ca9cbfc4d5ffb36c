// How `ferry explain` words ferry's configuration: rules, lists, durations. Pure.
#pragma once

#include "config/settings.h"
#include "policy/acl.h"

#include <boost/asio/ip/address.hpp>
#include <string>
#include <vector>

namespace ferry::app {

// "host", ".domain", "10.0.0.0/8".
std::string rule_text(const config::direct_rule& r);
std::string rules_text(const std::vector<config::direct_rule>& rules);

// `rule 2 ("office", line 14)`; `rule 3 (line 20)`; `rule 1`.
std::string acl_label(const config::acl_rule& rule, std::size_t index);

// Why `rule` did what `outcome` says to this request: "client 10.1.2.3 is not in 127.0.0.0/8".
std::string outcome_text(const config::acl_rule& rule, policy::rule_outcome outcome,
                         const policy::acl_request& request);

// The destination CIDRs of every rule that `address` falls in: `rule 2 ("lan"): 10.0.0.0/8`;
// empty when none.
std::vector<std::string> cidr_rules_met(const std::vector<config::acl_rule>& rules,
                                        const boost::asio::ip::address& address);

} // namespace ferry::app
