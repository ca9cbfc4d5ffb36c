// cidr_set: networks of both families as merged intervals, their edges, IP literals parsed
// without allocating (and only the forms the inline rules take).
#include "util/cidr_set.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace ferry::util {
namespace {

ip_bytes ip(const char* text) {
    auto a = parse_ip(text);
    EXPECT_TRUE(a) << text;
    return a.value_or(ip_bytes{});
}

cidr_set of(std::initializer_list<std::pair<const char*, unsigned>> networks) {
    cidr_set s;
    for (const auto& [text, prefix] : networks)
        s.insert(ip(text), prefix);
    s.seal();
    return s;
}

TEST(ParseIp, DottedDecimalAndIpv6OnlyWithoutBracketsOrZones) {
    EXPECT_TRUE(parse_ip("10.1.2.3"));
    EXPECT_TRUE(parse_ip("::1"));
    EXPECT_TRUE(parse_ip("2001:DB8::1"));
    EXPECT_TRUE(parse_ip("::ffff:127.0.0.1"));
    for (const char* bad : {"", "10.1.2", "10.1.2.3.4", "256.1.1.1", "0x7f.0.0.1", "2130706433",
                            "[::1]", "fe80::1%eth0", "example.com", "1.2.3.4 ", "::1::2"})
        EXPECT_FALSE(parse_ip(bad)) << bad;
    EXPECT_FALSE(parse_ip(std::string_view("1.2.3.4\0", 8)));
    EXPECT_FALSE(parse_ip(std::string(60, '1')));
}

TEST(CidrSet, Ipv4NetworksHaveExactEdges) {
    const auto s = of({{"10.0.0.0", 8}, {"192.168.1.7", 32}, {"172.16.5.9", 12}});
    EXPECT_TRUE(s.contains(ip("10.0.0.0")));
    EXPECT_TRUE(s.contains(ip("10.255.255.255")));
    EXPECT_FALSE(s.contains(ip("11.0.0.0")));
    EXPECT_FALSE(s.contains(ip("9.255.255.255")));
    EXPECT_TRUE(s.contains(ip("192.168.1.7")));
    EXPECT_FALSE(s.contains(ip("192.168.1.8")));
    EXPECT_TRUE(s.contains(ip("172.31.0.1"))) << "host bits past the prefix are ignored";
    EXPECT_FALSE(s.contains(ip("172.32.0.1")));
    EXPECT_FALSE(s.contains(ip("::a00:1"))) << "the other family never matches";
}

TEST(CidrSet, Ipv6NetworksAndTheWholeSpace) {
    const auto s = of({{"2001:db8::", 32}, {"fe80::1", 128}});
    EXPECT_TRUE(s.contains(ip("2001:db8:ffff::1")));
    EXPECT_FALSE(s.contains(ip("2001:db9::")));
    EXPECT_TRUE(s.contains(ip("fe80::1")));
    EXPECT_FALSE(s.contains(ip("fe80::2")));
    const auto all = of({{"0.0.0.0", 0}, {"::", 0}});
    EXPECT_TRUE(all.contains(ip("255.255.255.255")));
    EXPECT_TRUE(all.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    EXPECT_EQ(all.intervals(), 2u);
}

TEST(CidrSet, OverlappingAndAdjacentNetworksMergeIntoOneInterval) {
    const auto s = of({{"10.0.1.0", 24},
                       {"10.0.0.0", 24},
                       {"10.0.0.128", 25},
                       {"10.0.2.0", 23},
                       {"255.255.255.255", 32},
                       {"255.255.255.0", 24}});
    EXPECT_EQ(s.intervals(), 2u);
    EXPECT_TRUE(s.contains(ip("10.0.3.255")));
    EXPECT_FALSE(s.contains(ip("10.0.4.0")));
    EXPECT_TRUE(s.contains(ip("255.255.255.255")));
    EXPECT_TRUE(s == of({{"10.0.0.0", 22}, {"255.255.255.0", 24}}));
}

TEST(CidrSet, LiteralsAreParsedAndMappedAddressesJudgedAsIpv4) {
    const auto s = of({{"127.0.0.0", 8}});
    EXPECT_TRUE(s.contains_literal("127.0.0.1"));
    EXPECT_TRUE(s.contains_literal("::ffff:127.0.0.1"));
    EXPECT_FALSE(s.contains_literal("localhost"));
    EXPECT_FALSE(s.contains_literal("128.0.0.1"));
    EXPECT_FALSE(cidr_set{}.contains_literal("127.0.0.1"));
}

TEST(CidrSet, HundredThousandNetworksEachFoundWithItsNeighboursOutside) {
    cidr_set s;
    for (std::uint32_t i = 0; i < 100'000; ++i) {
        ip_bytes a; // 10.x.y.0/28 every 32 addresses: gaps between them
        const std::uint32_t v = (10u << 24) | (i << 5);
        a.bytes = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                   static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
        s.insert(a, 28);
    }
    s.seal();
    EXPECT_EQ(s.intervals(), 100'000u);
    for (std::uint32_t i = 0; i < 100'000; i += 7) {
        const std::uint32_t v = (10u << 24) | (i << 5);
        auto text = [](std::uint32_t x) {
            return fmt::format("{}.{}.{}.{}", x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255);
        };
        ASSERT_TRUE(s.contains_literal(text(v))) << i;
        ASSERT_TRUE(s.contains_literal(text(v + 15))) << i;
        ASSERT_FALSE(s.contains_literal(text(v + 16))) << i;
    }
}

} // namespace
} // namespace ferry::util
