// Safe destinations (issue 18): which addresses are protected, the IPv6 forms that reach an
// IPv4 address, the 403's words, and the rules that re-open one address.
#include "policy/destinations.h"

#include "config/config_file.h"
#include "observe/metrics.h"

#include <gtest/gtest.h>

namespace ferry::policy {
namespace {

namespace asio = boost::asio;
using category = destination_category;

category of(const char* address, bool deny_private = false) {
    return classify(asio::ip::make_address(address), deny_private);
}

std::string refusal(const char* address, category c, std::uint16_t port = 80) {
    return destination_refusal(asio::ip::make_address(address), port, c);
}

TEST(Destinations, EveryCategoryAlwaysProtected) {
    for (const char* a : {"127.0.0.1", "127.255.255.254", "::1"})
        EXPECT_EQ(of(a), category::loopback) << a;
    for (const char* a : {"169.254.0.1", "169.254.255.255", "fe80::1", "febf::1"})
        EXPECT_EQ(of(a), category::link_local) << a;
    for (const char* a : {"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})
        EXPECT_EQ(of(a), category::metadata) << a;
    for (const char* a : {"0.0.0.0", "0.1.2.3", "::"})
        EXPECT_EQ(of(a), category::unspecified) << a;
    for (const char* a : {"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::1:3"})
        EXPECT_EQ(of(a), category::multicast) << a;
    EXPECT_EQ(of("255.255.255.255"), category::broadcast);
}

TEST(Destinations, PrivateRangesOnlyWhenDenied) {
    for (const char* a : {"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                          "100.127.255.255", "fc00::1", "fd12:3456::1"})
        EXPECT_EQ(of(a), category::none) << a;
    for (const char* a :
         {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1"})
        EXPECT_EQ(of(a, true), category::private_range) << a;
    for (const char* a : {"100.64.0.1", "100.127.255.255"})
        EXPECT_EQ(of(a, true), category::shared_range) << a;
    for (const char* a : {"fc00::1", "fd12:3456::1"})
        EXPECT_EQ(of(a, true), category::unique_local) << a;
    // The metadata addresses inside those ranges stay metadata, denied or not.
    EXPECT_EQ(of("100.100.100.200", true), category::metadata);
    EXPECT_EQ(of("fd00:ec2::254", true), category::metadata);
}

TEST(Destinations, PublicAndNeighbouringAddressesAreNotProtected) {
    for (const char* a :
         {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "192.169.0.1", "169.253.255.255",
          "169.255.0.1", "100.63.255.255", "100.128.0.1", "223.255.255.255", "128.0.0.1",
          "126.255.255.255", "2001:db8::1", "2606:4700::1111", "fec0::1", "fe7f::1"})
        EXPECT_EQ(of(a, true), category::none) << a;
}

TEST(Destinations, IPv6FormsAreJudgedAsTheIPv4TheyReach) {
    // IPv4-mapped, IPv4-compatible and NAT64 (64:ff9b::/96).
    for (const char* a : {"::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1", "64:ff9b::7f00:1",
                          "64:ff9b::127.0.0.1"})
        EXPECT_EQ(of(a), category::loopback) << a;
    for (const char* a : {"::ffff:169.254.169.254", "::169.254.169.254", "64:ff9b::a9fe:a9fe"})
        EXPECT_EQ(of(a), category::metadata) << a;
    EXPECT_EQ(of("::ffff:10.1.2.3", true), category::private_range);
    EXPECT_EQ(of("64:ff9b::10.1.2.3", true), category::private_range);
    EXPECT_EQ(of("::ffff:0.0.0.0"), category::unspecified);
    EXPECT_EQ(of("::ffff:255.255.255.255"), category::broadcast);
    EXPECT_EQ(of("::ffff:8.8.8.8"), category::none);
    EXPECT_EQ(of("64:ff9b::808:808"), category::none);
    // :: and ::1 are IPv6's own, not compatible forms of 0.0.0.0 and 0.0.0.1.
    EXPECT_EQ(reached_address(asio::ip::make_address("::1")), asio::ip::make_address("::1"));
    EXPECT_EQ(reached_address(asio::ip::make_address("::")), asio::ip::make_address("::"));
    // Outside the /96 the prefix is not NAT64's well-known one.
    EXPECT_EQ(of("64:ff9b:1::7f00:1"), category::none);
    EXPECT_EQ(reached_address(asio::ip::make_address("64:ff9b::7f00:1")),
              asio::ip::make_address("127.0.0.1"));
}

TEST(Destinations, TheRefusalNamesTheAddressAndWhatItIs) {
    EXPECT_EQ(refusal("169.254.169.254", category::metadata),
              "ferry: destination 169.254.169.254 is link-local (cloud metadata); allow it with an "
              "access rule");
    EXPECT_EQ(refusal("100.100.100.200", category::metadata),
              "ferry: destination 100.100.100.200 is a cloud metadata address; allow it with an "
              "access rule");
    EXPECT_EQ(refusal("fd00:ec2::254", category::metadata),
              "ferry: destination fd00:ec2::254 is a cloud metadata address; allow it with an "
              "access rule");
    EXPECT_EQ(refusal("127.0.0.1", category::loopback),
              "ferry: destination 127.0.0.1 is loopback; allow it with an access rule");
    EXPECT_EQ(refusal("::ffff:127.0.0.1", category::loopback),
              "ferry: destination 127.0.0.1 is loopback; allow it with an access rule");
    EXPECT_EQ(refusal("64:ff9b::7f00:1", category::loopback),
              "ferry: destination 64:ff9b::7f00:1 (127.0.0.1) is loopback; allow it with an "
              "access rule");
    EXPECT_EQ(refusal("169.254.1.1", category::link_local),
              "ferry: destination 169.254.1.1 is link-local; allow it with an access rule");
    EXPECT_EQ(refusal("10.1.2.3", category::private_range),
              "ferry: destination 10.1.2.3 is private (RFC 1918); allow it with an access rule");
    EXPECT_EQ(refusal("100.64.0.1", category::shared_range),
              "ferry: destination 100.64.0.1 is shared address space (RFC 6598); allow it with "
              "an access rule");
    EXPECT_EQ(refusal("fd12::1", category::unique_local),
              "ferry: destination fd12::1 is unique-local (RFC 4193); allow it with an access "
              "rule");
    EXPECT_EQ(refusal("0.0.0.0", category::unspecified),
              "ferry: destination 0.0.0.0 is unspecified; allow it with an access rule");
    EXPECT_EQ(refusal("224.0.0.1", category::multicast),
              "ferry: destination 224.0.0.1 is multicast; allow it with an access rule");
    EXPECT_EQ(refusal("255.255.255.255", category::broadcast),
              "ferry: destination 255.255.255.255 is broadcast; allow it with an access rule");
    EXPECT_EQ(refusal("10.1.2.3", category::admin_listener, 9090),
              "ferry: destination 10.1.2.3:9090 is ferry's admin listener; allow it with an "
              "access rule");
    EXPECT_EQ(refusal("::1", category::admin_listener, 9090),
              "ferry: destination [::1]:9090 is ferry's admin listener; allow it with an access "
              "rule");
}

// The categories follow the /metrics labels' order (the proxy counts by that index).
TEST(Destinations, MetricLabelsFollowTheCategories) {
    const auto label = [](category c) {
        return observe::destination_category_names.at(std::size_t(c) - 1);
    };
    EXPECT_EQ(label(category::loopback), "loopback");
    EXPECT_EQ(label(category::link_local), "link-local");
    EXPECT_EQ(label(category::metadata), "metadata");
    EXPECT_EQ(label(category::unspecified), "unspecified");
    EXPECT_EQ(label(category::multicast), "multicast");
    EXPECT_EQ(label(category::broadcast), "broadcast");
    EXPECT_EQ(label(category::admin_listener), "admin");
    EXPECT_EQ(label(category::private_range), "private");
    EXPECT_EQ(label(category::shared_range), "shared");
    EXPECT_EQ(label(category::unique_local), "unique-local");
}

config::settings mode(const char* m) {
    config::settings s;
    s.safe_destinations = m;
    return s;
}

TEST(Destinations, AutoAppliesWhenAListenerIsNotOnLoopback) {
    EXPECT_TRUE(safe_destinations_apply(mode("auto"), default_policy::loopback_and_private));
    EXPECT_FALSE(safe_destinations_apply(mode("auto"), default_policy::loopback_only));
    EXPECT_TRUE(safe_destinations_apply(mode("on"), default_policy::loopback_only));
    EXPECT_FALSE(safe_destinations_apply(mode("off"), default_policy::loopback_and_private));
    config::settings s;
    EXPECT_EQ(safe_destinations_notice(s, default_policy::loopback_only), "");
    EXPECT_NE(safe_destinations_notice(s, default_policy::loopback_and_private)
                  .find("ferry: safe destinations on (a listener is not on loopback)"),
              std::string::npos);
    s.safe_destinations = "off";
    EXPECT_NE(safe_destinations_notice(s, default_policy::loopback_and_private)
                  .find("safe destinations off"),
              std::string::npos);
}

// ferry on 127.0.0.1 behind a load balancer on 0.0.0.0 serves the load balancer's clients.
TEST(Destinations, AutoAppliesWhenALoopbackListenerTakesTheProxyProtocol) {
    auto s = mode("auto");
    s.listen.front().proxy_protocol = true;
    EXPECT_TRUE(safe_destinations_apply(s, default_policy::loopback_only));
    EXPECT_NE(safe_destinations_notice(s, default_policy::loopback_only)
                  .find("ferry: safe destinations on (a listener takes the PROXY protocol)"),
              std::string::npos);
    s.safe_destinations = "off";
    EXPECT_FALSE(safe_destinations_apply(s, default_policy::loopback_only));
    EXPECT_NE(
        safe_destinations_notice(s, default_policy::loopback_only).find("safe destinations off"),
        std::string::npos);
}

// The verdict of `toml`'s rules for a request from 192.0.2.9 to `host` at `address`.
acl_verdict verdict_of(const config::settings& s, const char* host, const char* address,
                       std::uint16_t port = 80) {
    const auto a = asio::ip::make_address(address);
    acl_request r;
    r.client = asio::ip::make_address("192.0.2.9");
    r.host = host;
    r.port = port;
    r.method = "GET";
    r.address = &a;
    return evaluate(s.acl, default_policy::loopback_and_private, r);
}

config::settings rules(const char* toml) {
    auto load = config::parse_config(toml, "test.toml");
    EXPECT_TRUE(load.parsed) << load.error;
    return load.parsed ? *load.parsed : config::settings{};
}

// Whether `s`'s rules re-open `address` (judged as the connector judges it) for `host`.
bool reopens(const config::settings& s, const char* host, const char* address,
             std::uint16_t port = 80) {
    const auto a = asio::ip::make_address(address);
    return explicitly_allowed(s.acl, verdict_of(s, host, address, port), host, a,
                              classify(a, true));
}

TEST(Destinations, OnlyARuleNamingTheDestinationReopensIt) {
    const auto s = rules(R"(
[[acl]]
name = "metadata for the agent"
action = "allow"
dest = ["169.254.169.254/32"]
ports = [80]

[[acl]]
name = "internal name"
action = "allow"
dest = ["agent.internal"]

[[acl]]
name = "everyone"
action = "allow"
)");
    // By address (a name resolving there, or the literal).
    auto v = verdict_of(s, "meta.test", "169.254.169.254");
    EXPECT_TRUE(reopens(s, "meta.test", "169.254.169.254"));
    EXPECT_EQ(v.rule, 1u);
    EXPECT_TRUE(reopens(s, "169.254.169.254", "169.254.169.254"));
    EXPECT_TRUE(reopens(s, "x.test", "::ffff:169.254.169.254"));
    // The rule's other conditions still hold: another port falls to the catch-all.
    v = verdict_of(s, "meta.test", "169.254.169.254", 8080);
    EXPECT_EQ(v.what, acl_verdict::kind::allow);
    EXPECT_FALSE(reopens(s, "meta.test", "169.254.169.254", 8080));
    // One address only: the rest of 169.254/16 falls to the catch-all, which re-opens nothing.
    v = verdict_of(s, "meta.test", "169.254.169.253");
    EXPECT_EQ(v.what, acl_verdict::kind::allow);
    EXPECT_EQ(v.rule, 3u);
    EXPECT_FALSE(reopens(s, "meta.test", "169.254.169.253"));
    // By the host's name.
    EXPECT_TRUE(reopens(s, "agent.internal", "127.0.0.1"));
    EXPECT_FALSE(reopens(s, "other.internal", "127.0.0.1"));
}

TEST(Destinations, DenyRulesAndTheDefaultPolicyReopenNothing) {
    const auto s = rules(R"(
[[acl]]
action = "deny"
dest = ["127.0.0.1/32"]
)");
    EXPECT_FALSE(reopens(s, "x.test", "127.0.0.1"));
    const config::settings none;
    acl_request r;
    r.client = asio::ip::make_address("127.0.0.1");
    r.host = "x.test";
    const auto v = evaluate(none.acl, default_policy::loopback_only, r);
    EXPECT_EQ(v.what, acl_verdict::kind::allow);
    const auto loopback = asio::ip::make_address("127.0.0.1");
    EXPECT_FALSE(explicitly_allowed(none.acl, v, "x.test", loopback, category::loopback));
}

TEST(Destinations, AWideRangeOrADomainReopensNothing) {
    const auto s = rules(R"(
[[acl]]
action = "allow"
dest = ["0.0.0.0/0", "::/0", "64:ff9b::/96", "127.0.0.0/7", ".example.com", "169.254.0.0/16"]
)");
    for (const char* a : {"127.0.0.1", "169.254.169.254", "100.100.100.200", "::1", "fd00:ec2::254",
                          "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "224.0.0.1"})
        EXPECT_FALSE(reopens(s, "x.test", a)) << a;
    // A suffix names no host exactly: the metadata address stays refused under it.
    EXPECT_FALSE(reopens(s, "meta.example.com", "169.254.169.254"));
    // 169.254.0.0/16 is as narrow as link-local, not as the metadata address within it.
    EXPECT_TRUE(reopens(s, "x.test", "169.254.1.1"));
}

TEST(Destinations, ARangeAsNarrowAsTheCategoryOrTheExactHostReopens) {
    const auto s = rules(R"(
[[acl]]
action = "allow"
dest = ["127.0.0.0/8", "::1", "10.1.0.0/16", "metadata.internal", "100.100.100.200"]
)");
    for (const char* a :
         {"127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1", "::1", "10.1.2.3", "100.100.100.200"})
        EXPECT_TRUE(reopens(s, "x.test", a)) << a;
    EXPECT_TRUE(reopens(s, "metadata.internal", "169.254.169.254"));
    EXPECT_TRUE(reopens(s, "metadata.internal", "fd00:ec2::254"));
    EXPECT_FALSE(reopens(s, "x.metadata.internal", "169.254.169.254"));
}

} // namespace
} // namespace ferry::policy
