// What ferry decides about the first bytes a CONNECT tunnel's client sends (issue 16): pure,
// from the ClientHello reader's verdict, --tunnel-sni and the access rules. The I/O — reading
// those bytes while the origin's direction already runs, holding or forwarding them, closing
// a refused tunnel — is tunnel.cpp's.
#pragma once

#include "config/settings.h"
#include "observe/tunnel_metrics.h"
#include "policy/acl.h"
#include "tls/client_hello.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy {

struct peek_refusal {
    observe::tunnel_refusal reason;
    std::string cause;    // the access log's cause: "ferry: tunnel refused: ..."
    std::size_t rule = 0; // for an access refusal: the deciding rule (acl_verdict's numbering)
};

// The held bytes' bound: a hello at the reader's cap, split into small records.
inline constexpr std::size_t peek_hold_limit = tls::default_max_hello + 32 * 1024;

// Whether the client's first bytes are held until the hello is judged (nothing reaches the
// origin before): under match and require, and when some access rule names destinations
// (the SNI is judged by them). Otherwise they go on as they arrive and a copy is read.
bool hold_first_bytes(config::tunnel_sni_policy policy, const std::vector<config::acl_rule>& rules);

// --tunnel-sni's verdict on what the client sent (none: it passes). `connect_host` is the
// CONNECT request's host (any case). A client that sent nothing passes whatever the policy.
std::optional<peek_refusal> judge_first_bytes(config::tunnel_sni_policy policy,
                                              const tls::client_hello_reader& reader,
                                              std::string_view connect_host);

// When access rules name destinations, a hello they cannot judge is refused whatever
// --tunnel-sni says: one ferry cannot read (malformed, or past the reader's cap — padding or
// records split small) or whose server name is not a DNS name could name a denied server.
std::optional<peek_refusal> unjudgeable_by_rules(const tls::client_hello_reader& reader,
                                                 const std::vector<config::acl_rule>& rules);

// Whether the access rules must judge the hello's server name: a valid name, other than the
// CONNECT host (that one was judged before the 200), with rules that name destinations.
bool sni_needs_access_check(const tls::client_hello_reader& reader, std::string_view connect_host,
                            const std::vector<config::acl_rule>& rules);

// The refusal for an access verdict on the server name `sni` (none when allowed). A rule
// that asks for credentials the client has not given denies: the 200 is already sent.
std::optional<peek_refusal> sni_access_refusal(const policy::acl_verdict& verdict,
                                               std::string_view sni);

} // namespace ferry::proxy
