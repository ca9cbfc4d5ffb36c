// proxy/tunnel_peek: what --tunnel-sni and the access rules decide on a tunnel's first bytes.
#include "proxy/tunnel_peek.h"

#include "config/values.h"

#include "../../integration/support/client_hello_bytes.h"

#include <gtest/gtest.h>

namespace ferry::proxy {

namespace {

using config::tunnel_sni_policy;
using observe::tunnel_refusal;

tls::client_hello_reader read(std::string_view bytes) {
    tls::client_hello_reader r;
    r.feed(bytes);
    return r;
}

tls::client_hello_reader hello_naming(std::string sni) {
    test::hello_spec s;
    s.sni = std::move(sni);
    return read(test::client_hello_bytes(s));
}

std::optional<tunnel_refusal> reason(tunnel_sni_policy p, const tls::client_hello_reader& r,
                                     std::string_view host = "example.test") {
    auto refusal = judge_first_bytes(p, r, host);
    if (!refusal) return std::nullopt;
    EXPECT_TRUE(refusal->cause.starts_with("ferry: tunnel refused: ")) << refusal->cause;
    return refusal->reason;
}

config::acl_rule rule_for(std::string host, config::acl_rule::verdict v) {
    config::acl_rule rule;
    rule.action = v;
    config::direct_rule d;
    EXPECT_TRUE(config::parse_direct_rule(host, d));
    rule.destinations.push_back(d);
    return rule;
}

} // namespace

TEST(TunnelPeek, AnyPassesEverything) {
    for (const auto& r : {hello_naming("other.test"), hello_naming(""), read("GET / HTTP/1.1"),
                          read(std::string("\x16\x03\x01\x00\x00", 5))})
        EXPECT_EQ(reason(tunnel_sni_policy::any, r), std::nullopt);
}

TEST(TunnelPeek, MatchComparesTheServerNameWithTheConnectHost) {
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("example.test")), std::nullopt);
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("EXAMPLE.test"), "Example.TEST"),
              std::nullopt);
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("other.test")),
              tunnel_refusal::sni_mismatch);
    const auto r =
        judge_first_bytes(tunnel_sni_policy::match, hello_naming("other.test"), "example.test");
    EXPECT_EQ(r->cause, "ferry: tunnel refused: TLS server name other.test is not the CONNECT "
                        "host example.test (tunnel_sni = match)");
    // An IP-literal CONNECT with a name: the names differ (ferry resolves nothing to compare).
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("example.test"), "127.0.0.1"),
              tunnel_refusal::sni_mismatch);
    // A name that is no DNS name never matches.
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("bad name")),
              tunnel_refusal::sni_mismatch);
}

TEST(TunnelPeek, MatchLetsThroughWhatNamesNoServer) {
    EXPECT_EQ(reason(tunnel_sni_policy::match, hello_naming("")), std::nullopt);
    EXPECT_EQ(reason(tunnel_sni_policy::match, read("SSH-2.0-x\r\n")), std::nullopt);
    EXPECT_EQ(reason(tunnel_sni_policy::match, read("")), std::nullopt); // silent client
}

TEST(TunnelPeek, RequireRefusesNoTlsAndNoServerName) {
    EXPECT_EQ(reason(tunnel_sni_policy::require, hello_naming("example.test")), std::nullopt);
    EXPECT_EQ(reason(tunnel_sni_policy::require, hello_naming("")), tunnel_refusal::no_sni);
    EXPECT_EQ(reason(tunnel_sni_policy::require, read("SSH-2.0-x\r\n")), tunnel_refusal::not_tls);
    EXPECT_EQ(reason(tunnel_sni_policy::require, hello_naming("other.test")),
              tunnel_refusal::sni_mismatch);
    EXPECT_EQ(reason(tunnel_sni_policy::require, read("")), std::nullopt);
}

TEST(TunnelPeek, UnreadableHellosAreRefusedUnlessAny) {
    test::hello_spec big;
    big.padding = 70 * 1024;
    for (auto p : {tunnel_sni_policy::match, tunnel_sni_policy::require}) {
        EXPECT_EQ(reason(p, read(test::client_hello_bytes(big))), tunnel_refusal::unreadable);
        EXPECT_EQ(reason(p, read(std::string("\x16\x03\x01\x00\x00", 5))),
                  tunnel_refusal::unreadable);
    }
}

TEST(TunnelPeek, HoldsOnlyWhenSomethingMayRefuse) {
    std::vector<config::acl_rule> none;
    EXPECT_FALSE(hold_first_bytes(tunnel_sni_policy::any, none));
    EXPECT_TRUE(hold_first_bytes(tunnel_sni_policy::match, none));
    EXPECT_TRUE(hold_first_bytes(tunnel_sni_policy::require, none));
    std::vector<config::acl_rule> clients_only(1);
    EXPECT_FALSE(hold_first_bytes(tunnel_sni_policy::any, clients_only));
    std::vector<config::acl_rule> with_host{
        rule_for("blocked.test", config::acl_rule::verdict::deny)};
    EXPECT_TRUE(hold_first_bytes(tunnel_sni_policy::any, with_host));
}

TEST(TunnelPeek, HellosTheAccessRulesCannotJudgeAreRefusedWhenRulesNameDestinations) {
    std::vector<config::acl_rule> rules{rule_for("blocked.test", config::acl_rule::verdict::deny)};
    test::hello_spec padded;
    padded.padding = 70 * 1024;
    const auto too_large = read(test::client_hello_bytes(padded));
    ASSERT_EQ(too_large.verdict(), tls::hello_verdict::too_large);
    const auto odd_name = hello_naming("blocked.test\x01");
    const auto malformed = read(std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10));
    for (const auto* r : {&too_large, &odd_name}) {
        const auto refusal = unjudgeable_by_rules(*r, rules);
        ASSERT_TRUE(refusal);
        EXPECT_TRUE(refusal->cause.starts_with("ferry: tunnel refused: ")) << refusal->cause;
        EXPECT_NE(refusal->cause.find("access rules name destinations"), std::string::npos);
    }
    ASSERT_EQ(malformed.verdict(), tls::hello_verdict::malformed) << malformed.problem();
    EXPECT_TRUE(unjudgeable_by_rules(malformed, rules));
    // Without rules naming destinations there is nothing to carry past: --tunnel-sni decides.
    EXPECT_FALSE(unjudgeable_by_rules(too_large, {}));
    EXPECT_FALSE(unjudgeable_by_rules(odd_name, {}));
    // Readable hellos with a DNS name (or none), and bytes that are not TLS, are for the rules
    // and --tunnel-sni.
    EXPECT_FALSE(unjudgeable_by_rules(hello_naming("blocked.test"), rules));
    EXPECT_FALSE(unjudgeable_by_rules(hello_naming(""), rules));
    EXPECT_FALSE(unjudgeable_by_rules(read("GET / HTTP/1.1\r\n"), rules));
}

TEST(TunnelPeek, AccessRulesJudgeAServerNameOtherThanTheHost) {
    std::vector<config::acl_rule> rules{rule_for("blocked.test", config::acl_rule::verdict::deny)};
    EXPECT_TRUE(sni_needs_access_check(hello_naming("blocked.test"), "example.test", rules));
    EXPECT_FALSE(sni_needs_access_check(hello_naming("Example.Test"), "example.test", rules));
    EXPECT_FALSE(sni_needs_access_check(hello_naming(""), "example.test", rules));
    EXPECT_FALSE(sni_needs_access_check(hello_naming("bad name"), "example.test", rules));
    EXPECT_FALSE(sni_needs_access_check(hello_naming("blocked.test"), "example.test", {}));

    policy::acl_verdict denied{policy::acl_verdict::kind::deny, 1,
                               "ferry: denied by access rule 1 (\"no-blocked\")"};
    const auto r = sni_access_refusal(denied, "blocked.test");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->reason, tunnel_refusal::acl);
    EXPECT_EQ(r->cause, "ferry: tunnel refused: TLS server name blocked.test: denied by access "
                        "rule 1 (\"no-blocked\")");
    policy::acl_verdict allowed{policy::acl_verdict::kind::allow, 2, ""};
    EXPECT_FALSE(sni_access_refusal(allowed, "ok.test"));
    policy::acl_verdict auth{policy::acl_verdict::kind::need_auth, 3, ""};
    EXPECT_EQ(sni_access_refusal(auth, "users.test")->reason, tunnel_refusal::acl);
}

TEST(TunnelPeek, AlpnSlots) {
    using observe::tunnel_alpn_slot;
    EXPECT_EQ(tunnel_alpn_slot(true, {"http/1.1", "h2"}), 0u);
    EXPECT_EQ(tunnel_alpn_slot(true, {"http/1.1"}), 1u);
    EXPECT_EQ(tunnel_alpn_slot(true, {"imap"}), 2u);
    EXPECT_EQ(tunnel_alpn_slot(false, {}), 3u);
}

} // namespace ferry::proxy
