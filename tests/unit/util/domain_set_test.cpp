// domain_set: exact hosts and .domains by their labels, as policy/host_match matches one
// rule; duplicates, growth past many table sizes, equality by content.
#include "util/domain_set.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <string>

namespace ferry::util {
namespace {

TEST(DomainSet, ExactHostsMatchThemselvesOnly) {
    domain_set s;
    ASSERT_TRUE(s.insert("ads.example.com", false));
    EXPECT_TRUE(s.contains("ads.example.com"));
    EXPECT_TRUE(s.contains("ads.example.com.")) << "a trailing dot names the same host";
    EXPECT_FALSE(s.contains("x.ads.example.com"));
    EXPECT_FALSE(s.contains("example.com"));
    EXPECT_FALSE(s.contains("bads.example.com"));
    EXPECT_FALSE(s.contains("ads.example.co"));
    EXPECT_FALSE(s.contains(""));
    EXPECT_FALSE(s.contains("."));
}

TEST(DomainSet, ADomainMatchesItselfAndEverySubdomain) {
    domain_set s;
    ASSERT_TRUE(s.insert("tracker.test", true));
    EXPECT_TRUE(s.contains("tracker.test"));
    EXPECT_TRUE(s.contains("a.tracker.test"));
    EXPECT_TRUE(s.contains("a.b.c.tracker.test"));
    EXPECT_TRUE(s.contains("a.b.c.tracker.test."));
    EXPECT_FALSE(s.contains("notracker.test")) << "a label boundary, not a string suffix";
    EXPECT_FALSE(s.contains("tracker.test.evil"));
    EXPECT_FALSE(s.contains("test"));
    EXPECT_FALSE(s.contains(".tracker.testx"));
}

TEST(DomainSet, AnExactEntryDoesNotStandForSubdomainsUntilTheDomainIsAdded) {
    domain_set s;
    ASSERT_TRUE(s.insert("example.com", false));
    EXPECT_FALSE(s.contains("www.example.com"));
    ASSERT_TRUE(s.insert("example.com", true)); // the same name, now as a domain too
    EXPECT_EQ(s.size(), 1u);
    EXPECT_TRUE(s.contains("www.example.com"));
    EXPECT_TRUE(s.contains("example.com"));
    ASSERT_TRUE(s.insert("example.com", false)); // adding the host again takes nothing away
    EXPECT_TRUE(s.contains("www.example.com"));
}

TEST(DomainSet, EmptyAndOverlongNamesAreRefused) {
    domain_set s;
    EXPECT_FALSE(s.insert("", false));
    EXPECT_FALSE(s.insert(std::string(254, 'a'), false));
    EXPECT_TRUE(s.insert(std::string(253, 'a'), false));
    EXPECT_TRUE(s.contains(std::string(253, 'a')));
    EXPECT_FALSE(s.contains(std::string(300, 'a')));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_FALSE(domain_set{}.contains("anything.test"));
}

TEST(DomainSet, HundredThousandNamesAllFoundAndNoOtherThroughEveryGrowth) {
    domain_set s;
    constexpr int n = 100'000;
    for (int i = 0; i < n; ++i)
        ASSERT_TRUE(s.insert(fmt::format("host{}.block{}.test", i, i % 97), i % 3 == 0));
    EXPECT_EQ(s.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(s.contains(fmt::format("host{}.block{}.test", i, i % 97))) << i;
        ASSERT_EQ(s.contains(fmt::format("www.host{}.block{}.test", i, i % 97)), i % 3 == 0) << i;
        ASSERT_FALSE(s.contains(fmt::format("host{}.block{}.test", i + n, i % 97))) << i;
    }
    EXPECT_LT(s.memory_bytes(), std::size_t(n) * 48) << "compact: arena and 8-byte slots";
}

TEST(DomainSet, ReservingFirstChangesNothingButTheAllocations) {
    domain_set reserved, grown;
    reserved.reserve(5000, 5000 * 16);
    for (int i = 0; i < 5000; ++i) {
        const auto name = fmt::format("n{}.test", i);
        reserved.insert(name, false);
        grown.insert(name, false);
    }
    EXPECT_TRUE(reserved == grown);
    for (int i = 0; i < 5000; ++i)
        ASSERT_TRUE(reserved.contains(fmt::format("n{}.test", i)));
}

TEST(DomainSet, EqualityIsByContentNotByInsertionOrder) {
    domain_set a, b, c;
    a.insert("one.test", false);
    a.insert("two.test", true);
    b.insert("two.test", true);
    b.insert("one.test", false);
    c.insert("two.test", false);
    c.insert("one.test", false);
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c) << "two.test is a domain in one, a host in the other";
    c.insert("three.test", false);
    EXPECT_FALSE(a == c);
}

TEST(DomainSet, TheHashSpreadsNamesThatDifferInOneCharacter) {
    // The table index is the hash's low bits: near names must not pile into a few slots.
    std::vector<int> buckets(1024, 0);
    for (int i = 0; i < 102'400; ++i)
        ++buckets[domain_hash(fmt::format("a{}.example.com", i)) & 1023];
    for (int count : buckets) {
        EXPECT_GT(count, 50);
        EXPECT_LT(count, 160);
    }
}

} // namespace
} // namespace ferry::util
