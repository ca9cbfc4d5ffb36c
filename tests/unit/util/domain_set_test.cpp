// domain_set: exact hosts and .domains by their labels, as policy/host_match matches one
// rule; duplicates merged, sealing again after more names, equality by content, the hash's
// spread.
#include "util/domain_set.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <string>

namespace ferry::util {
namespace {

domain_set of(std::initializer_list<std::pair<const char*, bool>> names) {
    domain_set s;
    for (const auto& [name, subdomains] : names)
        EXPECT_TRUE(s.insert(name, subdomains)) << name;
    s.seal();
    return s;
}

TEST(DomainSet, ExactHostsMatchThemselvesOnly) {
    const auto s = of({{"ads.example.com", false}});
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
    const auto s = of({{"tracker.test", true}});
    EXPECT_TRUE(s.contains("tracker.test"));
    EXPECT_TRUE(s.contains("a.tracker.test"));
    EXPECT_TRUE(s.contains("a.b.c.tracker.test"));
    EXPECT_TRUE(s.contains("a.b.c.tracker.test."));
    EXPECT_FALSE(s.contains("notracker.test")) << "a label boundary, not a string suffix";
    EXPECT_FALSE(s.contains("tracker.test.evil"));
    EXPECT_FALSE(s.contains("test"));
    EXPECT_FALSE(s.contains(".tracker.testx"));
}

TEST(DomainSet, AHostListedTwiceOrAlsoAsADomainIsOneEntryWithBothMeanings) {
    auto s = of({{"example.com", false}});
    EXPECT_FALSE(s.contains("www.example.com"));
    ASSERT_TRUE(s.insert("example.com", true)); // the same name, now as a domain too
    ASSERT_TRUE(s.insert("example.com", false));
    s.seal();
    EXPECT_EQ(s.size(), 1u);
    EXPECT_TRUE(s.contains("www.example.com"));
    EXPECT_TRUE(s.contains("example.com"));
    const auto twice = of({{"a.test", false}, {"b.test", false}, {"a.test", false}});
    EXPECT_EQ(twice.size(), 2u);
    EXPECT_FALSE(twice.contains("x.a.test"));
}

TEST(DomainSet, NamesAreLookedUpOnceSealed) {
    domain_set s;
    ASSERT_TRUE(s.insert("late.test", false));
    EXPECT_FALSE(s.contains("late.test"));
    s.seal();
    EXPECT_TRUE(s.contains("late.test"));
    s.seal(); // nothing new: nothing changes
    EXPECT_TRUE(s.contains("late.test"));
    EXPECT_EQ(s.size(), 1u);
}

TEST(DomainSet, EmptyAndOverlongNamesAreRefused) {
    domain_set s;
    EXPECT_FALSE(s.insert("", false));
    EXPECT_FALSE(s.insert(std::string(254, 'a'), false));
    EXPECT_TRUE(s.insert(std::string(253, 'a'), false));
    s.seal();
    EXPECT_TRUE(s.contains(std::string(253, 'a')));
    EXPECT_FALSE(s.contains(std::string(300, 'a')));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_FALSE(domain_set{}.contains("anything.test"));
}

TEST(DomainSet, AHostTooLongForDnsIsStillJudgedByItsDomains) {
    // As the inline ".domain" rules judge it: no way around a block list by length.
    const auto s = of({{"tracker.test", true}});
    EXPECT_TRUE(s.contains(std::string(300, 'x') + ".tracker.test"));
    EXPECT_TRUE(s.contains(std::string(240, 'x') + ".tracker.test"));
    EXPECT_FALSE(s.contains(std::string(300, 'x') + ".other.test"));
    EXPECT_FALSE(s.contains(std::string(300, '.')));
}

TEST(DomainSet, HundredThousandNamesAllFoundAndNoOther) {
    domain_set s;
    constexpr int n = 100'000;
    s.reserve(n, n * 24);
    for (int i = 0; i < n; ++i)
        ASSERT_TRUE(s.insert(fmt::format("host{}.block{}.test", i, i % 97), i % 3 == 0));
    s.seal();
    EXPECT_EQ(s.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(s.contains(fmt::format("host{}.block{}.test", i, i % 97))) << i;
        ASSERT_EQ(s.contains(fmt::format("www.host{}.block{}.test", i, i % 97)), i % 3 == 0) << i;
        ASSERT_FALSE(s.contains(fmt::format("host{}.block{}.test", i + n, i % 97))) << i;
    }
    EXPECT_LT(s.memory_bytes(), std::size_t(n) * 48) << "compact: arena and 8-byte slots";
}

TEST(DomainSet, SealingInStepsFindsWhatOneSealFinds) {
    domain_set steps, once;
    for (int i = 0; i < 5000; ++i) {
        const auto name = fmt::format("n{}.test", i);
        steps.insert(name, i % 2 == 0);
        once.insert(name, i % 2 == 0);
        if (i % 1000 == 999) steps.seal();
    }
    steps.seal();
    once.seal();
    EXPECT_TRUE(steps == once);
    for (int i = 0; i < 5000; ++i)
        ASSERT_TRUE(steps.contains(fmt::format("n{}.test", i))) << i;
    EXPECT_FALSE(steps.contains("n5000.test"));
}

TEST(DomainSet, EqualityIsByContentNotByInsertionOrder) {
    const auto a = of({{"one.test", false}, {"two.test", true}});
    const auto b = of({{"two.test", true}, {"one.test", false}});
    const auto c = of({{"two.test", false}, {"one.test", false}});
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c) << "two.test is a domain in one, a host in the other";
    EXPECT_FALSE(a == of({{"one.test", false}, {"two.test", true}, {"three.test", false}}));
}

TEST(DomainSet, TheHashSpreadsNamesThatDifferInOneCharacter) {
    // The top bits pick the slot, the low ones are the tag: neither may pile up.
    std::vector<int> top(1024, 0), low(1024, 0);
    for (int i = 0; i < 102'400; ++i) {
        const auto h = domain_hash(fmt::format("a{}.example.com", i));
        ++top[h >> 54];
        ++low[h & 1023];
    }
    for (int i = 0; i < 1024; ++i) {
        EXPECT_GT(top[i], 50);
        EXPECT_LT(top[i], 160);
        EXPECT_GT(low[i], 50);
        EXPECT_LT(low[i], 160);
    }
}

} // namespace
} // namespace ferry::util
