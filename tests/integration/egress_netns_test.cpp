// Safe destinations (issue 18) as a server beyond loopback meets them: ferry listens on
// 10.1.2.3 as well as 127.0.0.1, so the default (auto) turns them on, and link-local, cloud
// metadata and private destinations are served by origins on those addresses. All of it in a
// network namespace the test creates, where only lo exists: no packet can leave the machine,
// even if ferry got it wrong.
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/netns.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/test_dns.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <memory>
#include <regex>

using namespace ferry_test;

namespace {

class EgressNetns : public ::testing::Test {
protected:
    void SetUp() override {
        ns_ = std::make_unique<network_namespace>();
        if (!ns_->ok()) GTEST_SKIP() << ns_->skip_reason();
        for (const char* a :
             {"10.1.2.3/32", "169.254.169.254/32", "169.254.7.7/32", "100.100.100.200/32",
              "10.9.9.9/32", "100.64.1.1/32", "fd00:ec2::254/128"})
            ASSERT_TRUE(ns_->add_address(a)) << ns_->problem();
    }
    // Back to the test program's own namespace, after every object made in this one is gone.
    void TearDown() override { ns_.reset(); }

    std::unique_ptr<network_namespace> ns_;
};

std::vector<std::string> on_10_1_2_3(std::vector<std::string> more = {}) {
    std::vector<std::string> a{"--listen", "10.1.2.3:0"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

// One absolute-form GET through ferry's 127.0.0.1 listener; the whole response.
std::string fetch(const ferry_process& ferry, const std::string& authority,
                  const std::string& path = "/") {
    auto s = tcp_stream::connect_to(ferry.port());
    if (!s.send_all(
            fmt::format("GET http://{0}{1} HTTP/1.1\r\nHost: {0}\r\n\r\n", authority, path)))
        return {};
    return s.read_response();
}

std::string refusal(const std::string& address, const std::string& words) {
    return fmt::format("ferry: destination {} is {}; allow it with an access rule\n", address,
                       words);
}

} // namespace

TEST_F(EgressNetns, ListeningBeyondLoopbackRefusesMetadataAndLinkLocal) {
    address_origin metadata("169.254.169.254"), alibaba("100.100.100.200"), ec2v6("fd00:ec2::254"),
        link("169.254.7.7"), lan("10.9.9.9");
    for (auto* o : {&metadata, &alibaba, &ec2v6, &link, &lan})
        ASSERT_TRUE(o->ok()) << o->address();
    ferry_process ferry(on_10_1_2_3());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(eventually([&] {
        return ferry.err().find("ferry: safe destinations on (a listener is not on loopback)") !=
               std::string::npos;
    })) << ferry.err();
    auto r = fetch(ferry, metadata.authority(), "/latest/meta-data/");
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("169.254.169.254", "link-local (cloud metadata)"));
    r = fetch(ferry, alibaba.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("100.100.100.200", "a cloud metadata address"));
    r = fetch(ferry, ec2v6.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("fd00:ec2::254", "a cloud metadata address"));
    r = fetch(ferry, link.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("169.254.7.7", "link-local"));
    // Mapped into IPv6, the same address.
    r = fetch(ferry, fmt::format("[::ffff:169.254.169.254]:{}", metadata.port()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("169.254.169.254", "link-local (cloud metadata)"));
    for (auto* o : {&metadata, &alibaba, &ec2v6, &link})
        EXPECT_EQ(o->connections(), 0) << o->address();
    // Private destinations are allowed by default.
    r = fetch(ferry, lan.authority());
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), "origin 10.9.9.9\n");
}

TEST_F(EgressNetns, PrivateDestinationsDenyAddsThePrivateRanges) {
    address_origin lan("10.9.9.9"), cgnat("100.64.1.1"), alibaba("100.100.100.200");
    for (auto* o : {&lan, &cgnat, &alibaba})
        ASSERT_TRUE(o->ok()) << o->address();
    ferry_process ferry(on_10_1_2_3({"--private-destinations", "deny"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = fetch(ferry, lan.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("10.9.9.9", "private (RFC 1918)"));
    r = fetch(ferry, cgnat.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("100.64.1.1", "shared address space (RFC 6598)"));
    // Inside 100.64/10, the metadata address keeps its own words.
    r = fetch(ferry, alibaba.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("100.100.100.200", "a cloud metadata address"));
    for (auto* o : {&lan, &cgnat, &alibaba})
        EXPECT_EQ(o->connections(), 0) << o->address();
}

TEST_F(EgressNetns, TheAdminListenerIsRefusedOnItsOwnAddress) {
    ferry_process ferry(on_10_1_2_3({"--admin-listen", "10.1.2.3:0"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_TRUE(ferry.wait_for_out("Admin listener on port")) << ferry.out();
    std::smatch m;
    const auto out = ferry.out();
    ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(Admin listener on port (\d+))")));
    const auto r = fetch(ferry, "10.1.2.3:" + m.str(1), "/metrics");
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("10.1.2.3:" + m.str(1), "ferry's admin listener"));
}

TEST_F(EgressNetns, AnAccessRuleReopensOneMetadataAddress) {
    address_origin metadata("169.254.169.254"), alibaba("100.100.100.200");
    ASSERT_TRUE(metadata.ok() && alibaba.ok());
    temp_file config(R"(
[[acl]]
name = "instance agent"
action = "allow"
dest = ["169.254.169.254/32"]

[[acl]]
action = "allow"
client = ["127.0.0.0/8"]
)");
    ferry_process ferry(on_10_1_2_3({"--config", config.path()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = fetch(ferry, metadata.authority(), "/latest/meta-data/");
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), "origin 169.254.169.254\n");
    EXPECT_EQ(metadata.connections(), 1);
    // The catch-all for loopback clients re-opens nothing.
    r = fetch(ferry, alibaba.authority());
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("100.100.100.200", "a cloud metadata address"));
    EXPECT_EQ(alibaba.connections(), 0);
}

TEST_F(EgressNetns, ANameResolvingToTheMetadataAddressIsRefused) {
    test_dns dns; // started in the namespace: on its 127.0.0.1
    ASSERT_TRUE(dns.ok());
    address_origin metadata("169.254.169.254");
    ASSERT_TRUE(metadata.ok());
    dns.set("metadata.test", {"169.254.169.254"});
    ferry_process ferry(on_10_1_2_3({"--dns-server", dns.server_arg()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r = fetch(ferry, fmt::format("metadata.test:{}", metadata.port()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), refusal("169.254.169.254", "link-local (cloud metadata)"));
    EXPECT_EQ(metadata.connections(), 0);
    EXPECT_TRUE(eventually([&] {
        return ferry.out().find("destination 169.254.169.254 is link-local") != std::string::npos;
    })) << ferry.out();
}

TEST_F(EgressNetns, SafeDestinationsOffLetsThemThrough) {
    address_origin link("169.254.7.7");
    ASSERT_TRUE(link.ok());
    ferry_process ferry(on_10_1_2_3({"--safe-destinations", "off"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(eventually([&] {
        return ferry.err().find("ferry: safe destinations off") != std::string::npos;
    })) << ferry.err();
    const auto r = fetch(ferry, link.authority());
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(link.connections(), 1);
}

// A name with a protected and an allowed address, the protected one first (the order ferry
// would try them in): the allowed one is connected to, the protected one never (every
// address is judged before the first attempt, not merely tried after a failure).
TEST_F(EgressNetns, ANameWithAnAllowedAndAProtectedAddressReachesOnlyTheAllowedOne) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    address_origin lan("10.9.9.9");
    ASSERT_TRUE(lan.ok());
    address_origin metadata("169.254.169.254", lan.port());
    ASSERT_TRUE(metadata.ok());
    dns.set("mixed.test", {"169.254.169.254", "10.9.9.9"});
    ferry_process ferry(on_10_1_2_3({"--dns-server", dns.server_arg()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r = fetch(ferry, fmt::format("mixed.test:{}", lan.port()));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), "origin 10.9.9.9\n");
    EXPECT_EQ(metadata.connections(), 0);
}
