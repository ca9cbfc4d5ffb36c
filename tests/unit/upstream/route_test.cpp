// route: which requests go through the parent proxy and which go direct.
#include "upstream/route.h"

#include "config/cli.h"

#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

config::settings with_parent(std::initializer_list<const char*> direct) {
    config::settings s;
    config::parent_proxy p;
    EXPECT_EQ(config::parse_parent("http://127.0.0.1:3128", p), "");
    s.parent = p;
    for (const char* text : direct) {
        config::direct_rule rule;
        EXPECT_TRUE(config::parse_direct_rule(text, rule)) << text;
        s.direct.push_back(rule);
    }
    return s;
}

TEST(Route, WithoutParentEverythingIsDirect) {
    config::settings s;
    EXPECT_FALSE(via_parent(s, "example.com"));
    EXPECT_FALSE(via_parent(s, "10.1.2.3"));
}

TEST(Route, WithParentEverythingGoesThroughIt) {
    auto s = with_parent({});
    EXPECT_TRUE(via_parent(s, "example.com"));
    EXPECT_TRUE(via_parent(s, "127.0.0.1"));
    EXPECT_TRUE(via_parent(s, "::1"));
}

TEST(Route, HostRuleMatchesOnlyThatHost) {
    auto s = with_parent({"intranet.example"});
    EXPECT_FALSE(via_parent(s, "intranet.example"));
    EXPECT_TRUE(via_parent(s, "www.intranet.example"));
    EXPECT_TRUE(via_parent(s, "xintranet.example"));
}

TEST(Route, SuffixRuleMatchesTheDomainAndItsSubdomains) {
    auto s = with_parent({".example.com"});
    EXPECT_FALSE(via_parent(s, "example.com"));
    EXPECT_FALSE(via_parent(s, "www.example.com"));
    EXPECT_FALSE(via_parent(s, "a.b.example.com"));
    EXPECT_TRUE(via_parent(s, "badexample.com"));
    EXPECT_TRUE(via_parent(s, "example.com.evil"));
    EXPECT_TRUE(via_parent(s, "com"));
    EXPECT_FALSE(via_parent(s, "www.example.com.")); // the trailing dot of a full name
}

TEST(Route, CidrRuleMatchesAddressLiteralsInside) {
    auto s = with_parent({"10.0.0.0/8", "192.168.1.0/25", "fd00::/8", "198.51.100.7"});
    EXPECT_FALSE(via_parent(s, "10.255.0.1"));
    EXPECT_TRUE(via_parent(s, "11.0.0.1"));
    EXPECT_FALSE(via_parent(s, "192.168.1.127"));
    EXPECT_TRUE(via_parent(s, "192.168.1.128"));
    EXPECT_FALSE(via_parent(s, "fd12::1"));
    EXPECT_TRUE(via_parent(s, "fe80::1"));
    EXPECT_FALSE(via_parent(s, "198.51.100.7"));
    EXPECT_TRUE(via_parent(s, "198.51.100.8"));
    EXPECT_FALSE(via_parent(s, "::ffff:10.1.1.1")); // IPv4-mapped is the IPv4 address
    EXPECT_TRUE(via_parent(s, "10.example"));       // names are not resolved to match
}

TEST(Route, ZeroPrefixMatchesItsWholeFamily) {
    auto s = with_parent({"0.0.0.0/0"});
    EXPECT_FALSE(via_parent(s, "203.0.113.9"));
    EXPECT_TRUE(via_parent(s, "2001:db8::1"));
    EXPECT_TRUE(via_parent(s, "example.com"));
}

// An https:// parent: the route says TLS, on port 443 unless given, and its pooled
// connections are kept apart from plain ones to the same address.
TEST(Route, HttpsParentIsTlsAndPooledApart) {
    config::settings s;
    config::parent_proxy p;
    ASSERT_EQ(config::parse_parent("https://proxy.example", p), "");
    s.parent = p;
    const auto tls = route_for(s, "example.com", 80);
    EXPECT_TRUE(tls.parent);
    EXPECT_TRUE(tls.tls);
    EXPECT_EQ(tls.port, 443);
    EXPECT_EQ(tls.label, "proxy.example:443 (parent proxy)");
    ASSERT_EQ(config::parse_parent("http://proxy.example:443", p), "");
    s.parent = p;
    const auto plain = route_for(s, "example.com", 80);
    EXPECT_FALSE(plain.tls);
    EXPECT_EQ(plain.label, tls.label);
    EXPECT_NE(plain.key, tls.key);
}

} // namespace
} // namespace ferry::upstream
