// dns_cache: TTLs, negative entries, the cap on entries. Time is passed in, never read.
#include "upstream/dns_cache.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::make_address;

const dns_cache::clock::time_point t0{std::chrono::hours(1000)};

dns_cache::addresses one(const char* a) {
    return {make_address(a)};
}

TEST(DnsCache, AnswerIsKeptUntilItsTtlRunsOut) {
    dns_cache cache(10, 5s);
    cache.put("a.example", {make_address("192.0.2.1"), make_address("2001:db8::1")}, 30s, t0);
    auto hit = cache.find("a.example", t0 + 29s);
    ASSERT_TRUE(hit);
    ASSERT_EQ(hit->size(), 2u);
    EXPECT_EQ((*hit)[0], make_address("192.0.2.1"));
    EXPECT_EQ((*hit)[1], make_address("2001:db8::1"));
    EXPECT_FALSE(cache.find("a.example", t0 + 30s));
    EXPECT_EQ(cache.size(), 0u); // an expired entry found is dropped
}

TEST(DnsCache, UnknownNameIsAMiss) {
    dns_cache cache(10, 5s);
    cache.put("a.example", one("192.0.2.1"), 30s, t0);
    EXPECT_FALSE(cache.find("b.example", t0));
}

TEST(DnsCache, TtlZeroIsNotCachedAndDropsAnOlderAnswer) {
    dns_cache cache(10, 5s);
    cache.put("a.example", one("192.0.2.1"), 0s, t0);
    EXPECT_FALSE(cache.find("a.example", t0));
    cache.put("b.example", one("192.0.2.1"), 60s, t0);
    cache.put("b.example", one("192.0.2.2"), 0s, t0 + 1s);
    EXPECT_FALSE(cache.find("b.example", t0 + 1s));
}

TEST(DnsCache, HugeTtlIsCappedAtAnHour) {
    dns_cache cache(10, 5s);
    cache.put("a.example", one("192.0.2.1"), std::chrono::seconds(7 * 24 * 3600), t0);
    EXPECT_TRUE(cache.find("a.example", t0 + dns_cache::max_ttl - 1s));
    EXPECT_FALSE(cache.find("a.example", t0 + dns_cache::max_ttl));
}

TEST(DnsCache, NegativeEntryLastsTheNegativeTtl) {
    dns_cache cache(10, 5s);
    cache.put_negative("gone.example", t0);
    auto hit = cache.find("gone.example", t0 + 4s);
    ASSERT_TRUE(hit);
    EXPECT_TRUE(hit->empty());
    EXPECT_FALSE(cache.find("gone.example", t0 + 5s));
}

TEST(DnsCache, AnswerWithoutAddressesIsNegative) {
    dns_cache cache(10, 5s);
    cache.put("empty.example", {}, 300s, t0);
    auto hit = cache.find("empty.example", t0 + 4s);
    ASSERT_TRUE(hit);
    EXPECT_TRUE(hit->empty());
    EXPECT_FALSE(cache.find("empty.example", t0 + 5s)); // the negative TTL, not the answer's
}

TEST(DnsCache, NegativeTtlZeroRemembersNoFailure) {
    dns_cache cache(10, 0s);
    cache.put_negative("gone.example", t0);
    EXPECT_FALSE(cache.find("gone.example", t0));
}

TEST(DnsCache, NewAnswerReplacesTheOld) {
    dns_cache cache(10, 5s);
    cache.put("a.example", one("192.0.2.1"), 10s, t0);
    cache.put("a.example", one("192.0.2.2"), 100s, t0 + 5s);
    auto hit = cache.find("a.example", t0 + 50s);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, one("192.0.2.2"));
    EXPECT_EQ(cache.size(), 1u);
    cache.put_negative("a.example", t0 + 60s);
    hit = cache.find("a.example", t0 + 61s);
    ASSERT_TRUE(hit);
    EXPECT_TRUE(hit->empty());
    EXPECT_EQ(cache.size(), 1u);
}

TEST(DnsCache, CapacityZeroCachesNothing) {
    dns_cache cache(0, 5s);
    cache.put("a.example", one("192.0.2.1"), 30s, t0);
    cache.put_negative("b.example", t0);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_FALSE(cache.find("a.example", t0));
}

TEST(DnsCache, FullCacheDropsExpiredEntriesFirst) {
    dns_cache cache(3, 5s);
    cache.put("long.example", one("192.0.2.1"), 100s, t0);
    cache.put("short1.example", one("192.0.2.2"), 10s, t0);
    cache.put("short2.example", one("192.0.2.3"), 20s, t0);
    cache.put("new.example", one("192.0.2.4"), 50s, t0 + 30s); // both short ones expired
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(cache.find("long.example", t0 + 30s));
    EXPECT_TRUE(cache.find("new.example", t0 + 30s));
}

TEST(DnsCache, FullCacheWithNothingExpiredDropsWhatExpiresSoonest) {
    dns_cache cache(3, 5s);
    cache.put("a.example", one("192.0.2.1"), 100s, t0);
    cache.put("b.example", one("192.0.2.2"), 10s, t0);
    cache.put("c.example", one("192.0.2.3"), 50s, t0);
    cache.put("d.example", one("192.0.2.4"), 70s, t0 + 1s);
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_FALSE(cache.find("b.example", t0 + 1s));
    EXPECT_TRUE(cache.find("a.example", t0 + 1s));
    EXPECT_TRUE(cache.find("c.example", t0 + 1s));
    EXPECT_TRUE(cache.find("d.example", t0 + 1s));
}

TEST(DnsCache, NeverHoldsMoreThanItsCapacity) {
    dns_cache cache(100, 5s);
    for (int i = 0; i < 1000; ++i) {
        auto name = fmt::format("n{}.example", i); // (GCC 12 -O3 warns on "n" + to_string)
        if (i % 3 == 0)
            cache.put_negative(name, t0 + std::chrono::seconds(i));
        else
            cache.put(name, one("192.0.2.1"), std::chrono::seconds(1 + i % 17),
                      t0 + std::chrono::seconds(i));
        ASSERT_LE(cache.size(), 100u);
    }
    // The newest answer is still there.
    EXPECT_TRUE(cache.find("n998.example", t0 + 998s));
}

} // namespace
} // namespace ferry::upstream
