// observe::timeline: the per-second ring, merged across workers, with a fake clock.
#include "observe/timeline.h"

#include <gtest/gtest.h>

namespace ferry::observe {
namespace {

TEST(Timeline, MergesTwoShardsBySecond) {
    timeline a, b;
    a.record(1000, 10, 100, 200, 1500);
    a.record(1000, 5, 50, 404, 3000);
    b.record(1000, 1, 2, 503, std::nullopt);
    b.record(1001, 7, 8, 0, 10);
    const std::vector<const timeline*> both{&a, &b};
    auto merged = merge_seconds(both, 1001, 3);
    ASSERT_EQ(merged.size(), 3u);
    EXPECT_EQ(merged[0].requests, 0u); // second 999: nothing
    EXPECT_EQ(merged[1].requests, 3u);
    EXPECT_EQ(merged[1].bytes_from_clients, 16u);
    EXPECT_EQ(merged[1].bytes_to_clients, 152u);
    EXPECT_EQ(merged[1].status[2], 1u);
    EXPECT_EQ(merged[1].status[4], 1u);
    EXPECT_EQ(merged[1].status[5], 1u);
    EXPECT_EQ(merged[2].requests, 1u);
    EXPECT_EQ(merged[2].status[0], 1u) << "no answer counts as 000";
    EXPECT_FALSE(merged[0].percentile_ms(0.5)) << "no timed exchange: no percentile";
}

TEST(Timeline, WrapsAroundAfter900Seconds) {
    timeline t;
    t.record(5000, 1, 1, 200, 100);
    t.record(5000 + timeline_seconds, 2, 2, 200, 100); // the same slot, 900 s later
    const std::vector<const timeline*> one{&t};
    EXPECT_EQ(merge_seconds(one, 5000, 1)[0].requests, 0u) << "the old second is gone";
    auto now = merge_seconds(one, 5000 + timeline_seconds, 1)[0];
    EXPECT_EQ(now.requests, 1u) << "the slot was emptied, not added to";
    EXPECT_EQ(now.bytes_from_clients, 2u);
    // A whole window later still: every second in the window reads as its own.
    for (std::int64_t s = 10000; s < 10000 + 2 * std::int64_t(timeline_seconds); ++s)
        t.record(s, 1, 0, 200, 1000);
    auto window = merge_seconds(one, 10000 + 2 * timeline_seconds - 1, timeline_seconds);
    for (const auto& x : window)
        EXPECT_EQ(x.requests, 1u);
}

TEST(Timeline, PercentilesWithinTheBucketBound) {
    timeline t;
    // 100 exchanges: 1 ms .. 100 ms.
    for (int i = 1; i <= 100; ++i)
        t.record(42, 0, 0, 200, std::uint64_t(i) * 1000);
    const std::vector<const timeline*> one{&t};
    auto s = merge_seconds(one, 42, 1)[0];
    auto near = [](double got, double want) { return std::abs(got - want) <= want * 0.125; };
    EXPECT_TRUE(near(*s.percentile_ms(0.50), 50)) << *s.percentile_ms(0.50);
    EXPECT_TRUE(near(*s.percentile_ms(0.95), 95)) << *s.percentile_ms(0.95);
    EXPECT_TRUE(near(*s.percentile_ms(0.99), 99)) << *s.percentile_ms(0.99);
}

TEST(Timeline, BucketsAreOrderedAndBounded) {
    std::size_t last = 0;
    for (std::uint64_t us = 0; us < (std::uint64_t(1) << 28); us = us * 9 / 8 + 1) {
        const auto b = latency_bucket(us);
        EXPECT_GE(b, last);
        EXPECT_LT(b, latency_buckets);
        last = b;
        if (us >= 8 && us < (std::uint64_t(1) << 27)) {
            const double mid = latency_bucket_middle(b);
            EXPECT_LE(std::abs(mid - double(us)), double(us) * 0.125) << us;
        }
    }
    EXPECT_EQ(latency_bucket(~std::uint64_t(0)), latency_buckets - 1);
}

} // namespace
} // namespace ferry::observe
