// The command line's value parsers: --dns-server, --parent, --direct.
#include "config/cli.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

TEST(DnsServerOption, AddressWithOrWithoutPort) {
    dns_server s;
    ASSERT_TRUE(parse_dns_server("127.0.0.1", s));
    EXPECT_EQ(s.address, "127.0.0.1");
    EXPECT_EQ(s.port, 53);
    ASSERT_TRUE(parse_dns_server("127.0.0.1:5353", s));
    EXPECT_EQ(s.port, 5353);
    ASSERT_TRUE(parse_dns_server("::1", s));
    EXPECT_EQ(s.address, "::1");
    EXPECT_EQ(s.port, 53);
    ASSERT_TRUE(parse_dns_server("[::1]:5353", s));
    EXPECT_EQ(s.address, "::1");
    EXPECT_EQ(s.port, 5353);
}

TEST(DnsServerOption, RefusesNamesAndBadPorts) {
    dns_server s;
    for (const char* bad : {"", "dns.example", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "[::1]:", "[::1", "1.2.3.4.5", "localhost:53"})
        EXPECT_FALSE(parse_dns_server(bad, s)) << bad;
}

TEST(ParentOption, HostPortAndCredentials) {
    parent_proxy p;
    EXPECT_EQ(parse_parent("http://proxy.example:3128", p), "");
    EXPECT_EQ(p.host, "proxy.example");
    EXPECT_EQ(p.port, 3128);
    EXPECT_EQ(p.authorization, "");

    EXPECT_EQ(parse_parent("HTTP://Proxy.Example:3128/", p), "");
    EXPECT_EQ(p.host, "proxy.example");

    EXPECT_EQ(parse_parent("http://Aladdin:open%20sesame@127.0.0.1:8080", p), "");
    EXPECT_EQ(p.host, "127.0.0.1");
    EXPECT_EQ(p.port, 8080);
    EXPECT_EQ(p.authorization, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

    EXPECT_EQ(parse_parent("http://alice:s%3Acret@[::1]:3128", p), "");
    EXPECT_EQ(p.host, "::1");
    EXPECT_EQ(p.authorization, "Basic YWxpY2U6czpjcmV0"); // alice:s:cret

    EXPECT_EQ(parse_parent("http://bob@proxy", p), "");
    EXPECT_EQ(p.port, 80);
    EXPECT_EQ(p.authorization, "Basic Ym9iOg=="); // bob: (empty password)
}

TEST(ParentOption, SaysWhatIsWrong) {
    parent_proxy p;
    EXPECT_NE(parse_parent("proxy:3128", p), "");
    EXPECT_NE(parse_parent("socks5://proxy:3128", p), "");
    EXPECT_NE(parse_parent("ftp://proxy", p), "");
    EXPECT_NE(parse_parent("http://proxy:99999", p), "");
    EXPECT_NE(parse_parent("http://proxy:0", p), "");
    EXPECT_NE(parse_parent("http://proxy:3128/path", p), "");
    EXPECT_NE(parse_parent("http://:3128", p), "");
    EXPECT_NE(parse_parent("http://[::1:3128", p), "");
    EXPECT_NE(parse_parent("http://u:%zz@proxy:1", p), "");
    EXPECT_NE(parse_parent("http://:pw@proxy:1", p), "");
    EXPECT_NE(parse_parent("http://pro xy:1", p), "");
}

TEST(DirectOption, KindsOfRule) {
    direct_rule r;
    ASSERT_TRUE(parse_direct_rule("Intranet.Example", r));
    EXPECT_EQ(r.what, direct_rule::kind::host);
    EXPECT_EQ(r.name, "intranet.example");
    ASSERT_TRUE(parse_direct_rule(".example.com", r));
    EXPECT_EQ(r.what, direct_rule::kind::suffix);
    EXPECT_EQ(r.name, "example.com");
    ASSERT_TRUE(parse_direct_rule("10.0.0.0/8", r));
    EXPECT_EQ(r.what, direct_rule::kind::cidr);
    EXPECT_EQ(r.prefix, 8u);
    ASSERT_TRUE(parse_direct_rule("fd00::/8", r));
    EXPECT_EQ(r.prefix, 8u);
    ASSERT_TRUE(parse_direct_rule("192.0.2.7", r));
    EXPECT_EQ(r.what, direct_rule::kind::cidr);
    EXPECT_EQ(r.prefix, 32u);
    ASSERT_TRUE(parse_direct_rule("::1", r));
    EXPECT_EQ(r.prefix, 128u);
}

TEST(DirectOption, RefusesMalformedRules) {
    direct_rule r;
    for (const char* bad : {"", ".", "..example", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8",
                            "host name", "a/b", "10.0.0.0/8x"})
        EXPECT_FALSE(parse_direct_rule(bad, r)) << bad;
}

} // namespace
} // namespace ferry::config
