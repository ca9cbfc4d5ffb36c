// acl: first-match rules over client, destination, port, method and user; the default
// policy that keeps ferry from being an open proxy by accident.
#include "policy/acl.h"

#include "config/cli.h"

#include <gtest/gtest.h>

namespace ferry::policy {
namespace {

namespace asio = boost::asio;
using config::acl_rule;
using kind = acl_verdict::kind;

std::vector<config::direct_rule> parse_rules(std::initializer_list<const char*> texts) {
    std::vector<config::direct_rule> out;
    for (const char* t : texts) {
        config::direct_rule r;
        EXPECT_TRUE(config::parse_direct_rule(t, r)) << t;
        out.push_back(r);
    }
    return out;
}

acl_rule rule(acl_rule::verdict action) {
    acl_rule r;
    r.action = action;
    return r;
}
const auto allow = acl_rule::verdict::allow;
const auto deny = acl_rule::verdict::deny;

acl_request request(const char* client, std::string_view host = "example.com",
                    std::uint16_t port = 80, std::string_view method = "GET") {
    acl_request r;
    r.client = asio::ip::make_address(client);
    r.host = host;
    r.port = port;
    r.method = method;
    return r;
}

TEST(AclDefault, LoopbackListenersServeLoopbackClientsOnly) {
    const auto p =
        default_for({asio::ip::make_address("127.0.0.1"), asio::ip::make_address("::1")});
    EXPECT_EQ(p, default_policy::loopback_only);
    EXPECT_EQ(evaluate({}, p, request("127.0.0.1")).what, kind::allow);
    EXPECT_EQ(evaluate({}, p, request("127.9.8.7")).what, kind::allow);
    EXPECT_EQ(evaluate({}, p, request("::1")).what, kind::allow);
    EXPECT_EQ(evaluate({}, p, request("::ffff:127.0.0.1")).what, kind::allow);
    auto v = evaluate({}, p, request("192.168.1.5"));
    EXPECT_EQ(v.what, kind::deny);
    EXPECT_EQ(v.reason, "ferry: client 192.168.1.5 is not allowed: without access rules ferry "
                        "serves loopback clients only");
}

TEST(AclDefault, APublicListenerAlsoServesPrivateNetworksNeverTheInternet) {
    const auto p =
        default_for({asio::ip::make_address("127.0.0.1"), asio::ip::make_address("0.0.0.0")});
    EXPECT_EQ(p, default_policy::loopback_and_private);
    for (const char* ok : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.0.9",
                           "::1", "fd12:3456::1", "fc00::1", "::ffff:10.0.0.1"})
        EXPECT_EQ(evaluate({}, p, request(ok)).what, kind::allow) << ok;
    for (const char* no : {"8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.64.0.1",
                           "169.254.1.1", "2001:db8::1", "fe80::1", "::ffff:8.8.8.8"})
        EXPECT_EQ(evaluate({}, p, request(no)).what, kind::deny) << no;
}

TEST(AclDefault, WithAnHtpasswdEveryoneMustAuthenticate) {
    auto r = request("127.0.0.1");
    r.auth_available = true;
    EXPECT_EQ(evaluate({}, default_policy::loopback_only, r).what, kind::need_auth);
    const std::string alice = "alice";
    r.user = &alice;
    EXPECT_EQ(evaluate({}, default_policy::loopback_only, r).what, kind::allow);
}

TEST(AclRules, FirstMatchDecides) {
    auto a = rule(deny);
    a.destinations = parse_rules({".ads.example", "10.0.0.0/8"});
    a.name = "no ads";
    auto b = rule(allow);
    b.clients = parse_rules({"127.0.0.0/8", "::1/128"});
    const std::vector<acl_rule> rules{a, b};
    const auto p = default_policy::loopback_only;

    auto v = evaluate(rules, p, request("127.0.0.1", "tracker.ads.example"));
    EXPECT_EQ(v.what, kind::deny);
    EXPECT_EQ(v.rule, 1u);
    EXPECT_EQ(v.reason, "ferry: denied by access rule 1 (\"no ads\")");
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "ads.example")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "10.9.9.9")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "badads.example")).what, kind::allow);
    v = evaluate(rules, p, request("127.0.0.1", "example.com"));
    EXPECT_EQ(v.what, kind::allow);
    EXPECT_EQ(v.rule, 2u);
    EXPECT_EQ(evaluate(rules, p, request("::1", "example.com")).what, kind::allow);
    // No rule allows a client outside both: denied, whatever the default would say.
    v = evaluate(rules, p, request("192.168.1.1", "example.com"));
    EXPECT_EQ(v.what, kind::deny);
    EXPECT_EQ(v.rule, 0u);
    EXPECT_EQ(v.reason, "ferry: no access rule allows this request");
}

TEST(AclRules, PortsAndMethods) {
    auto a = rule(allow);
    a.ports = {80, 443};
    a.methods = {"GET", "CONNECT"};
    const std::vector<acl_rule> rules{a};
    const auto p = default_policy::loopback_only;
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "x", 80, "GET")).what, kind::allow);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "x", 443, "CONNECT")).what, kind::allow);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "x", 8080, "GET")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "x", 80, "POST")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1", "x", 80, "get")).what, kind::deny)
        << "methods are case-sensitive (RFC 9110 §9.1)";
}

TEST(AclRules, UsersNeedAuthenticationThenMatchByName) {
    auto admins = rule(allow);
    admins.users = {"alice"};
    admins.users_given = true;
    admins.destinations = parse_rules({".internal.example"});
    auto anyone = rule(allow);
    anyone.users = {"*"};
    anyone.users_given = true;
    const std::vector<acl_rule> rules{admins, anyone};
    const auto p = default_policy::loopback_only;

    auto r = request("127.0.0.1", "db.internal.example");
    r.auth_available = true;
    auto v = evaluate(rules, p, r);
    EXPECT_EQ(v.what, kind::need_auth);
    EXPECT_EQ(v.rule, 1u);
    const std::string alice = "alice", bob = "bob";
    r.user = &alice;
    EXPECT_EQ(evaluate(rules, p, r).what, kind::allow);
    r.user = &bob; // not in rule 1, but rule 2 takes any authenticated user
    v = evaluate(rules, p, r);
    EXPECT_EQ(v.what, kind::allow);
    EXPECT_EQ(v.rule, 2u);
    // Without an htpasswd file a rule about users can never match.
    auto no_auth = request("127.0.0.1", "db.internal.example");
    EXPECT_EQ(evaluate(rules, p, no_auth).what, kind::deny);
}

TEST(AclRules, ClientCidrsOfBothFamilies) {
    auto a = rule(deny);
    a.clients = parse_rules({"127.0.0.2/32", "::1"});
    auto b = rule(allow);
    const std::vector<acl_rule> rules{a, b};
    const auto p = default_policy::loopback_only;
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.2")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("::ffff:127.0.0.2")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("::1")).what, kind::deny);
    EXPECT_EQ(evaluate(rules, p, request("127.0.0.1")).what, kind::allow);
    // An explicit allow-all rule lets any client in: the operator said so.
    EXPECT_EQ(evaluate(rules, p, request("8.8.8.8")).what, kind::allow);
}

TEST(AclRules, CidrDestinationsJudgeTheResolvedAddressOfAName) {
    auto a = rule(deny);
    a.destinations = parse_rules({"10.0.0.0/8"});
    auto b = rule(allow);
    const std::vector<acl_rule> rules{a, b};
    const auto p = default_policy::loopback_only;
    EXPECT_TRUE(needs_address(rules, "intranet.example"));
    EXPECT_FALSE(needs_address(rules, "10.1.1.1")); // a literal is judged as it is
    EXPECT_FALSE(needs_address({b}, "intranet.example"));
    auto r = request("127.0.0.1", "intranet.example");
    EXPECT_EQ(evaluate(rules, p, r).what, kind::allow); // before resolving: only the name
    const auto inside = asio::ip::make_address("10.2.3.4");
    r.address = &inside;
    EXPECT_EQ(evaluate(rules, p, r).what, kind::deny);
    const auto outside = asio::ip::make_address("192.0.2.1");
    r.address = &outside;
    EXPECT_EQ(evaluate(rules, p, r).what, kind::allow);
}

} // namespace
} // namespace ferry::policy
