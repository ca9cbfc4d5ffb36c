// attempt_plan: when each attempt of a connection race starts and is given up (RFC 8305 §5).
#include "upstream/attempt_plan.h"

#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

using namespace std::chrono_literals;
using time_point = attempt_plan::time;

const time_point t0 = time_point{} + 1000s;

TEST(AttemptPlan, FirstStartsAtOnceTheNextAfterTheDelay) {
    attempt_plan p(3, 250ms, 2000ms);
    EXPECT_EQ(p.start_due(t0), 0u);
    EXPECT_EQ(p.start_due(t0), std::nullopt); // the first one is running
    EXPECT_EQ(p.next_event(), t0 + 250ms);
    EXPECT_EQ(p.start_due(t0 + 249ms), std::nullopt);
    EXPECT_EQ(p.start_due(t0 + 250ms), 1u);
    EXPECT_EQ(p.running(), 2u); // the first goes on beside it
    EXPECT_EQ(p.start_due(t0 + 500ms), 2u);
    EXPECT_EQ(p.start_due(t0 + 10s), std::nullopt); // none left
    EXPECT_EQ(p.running(), 3u);
    EXPECT_FALSE(p.lost());
}

TEST(AttemptPlan, AFailureStartsTheNextAtOnce) {
    attempt_plan p(3, 250ms, 2000ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    p.failed(0, t0 + 10ms);
    EXPECT_EQ(p.next_event(), t0 + 10ms);
    EXPECT_EQ(p.start_due(t0 + 10ms), 1u);
    // The delay counts again from that start.
    EXPECT_EQ(p.start_due(t0 + 200ms), std::nullopt);
    EXPECT_EQ(p.start_due(t0 + 260ms), 2u);
}

TEST(AttemptPlan, AFailureWhileOthersRunStillStartsTheNextAtOnce) {
    attempt_plan p(3, 250ms, 2000ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    ASSERT_EQ(p.start_due(t0 + 250ms), 1u);
    p.failed(0, t0 + 300ms);
    EXPECT_EQ(p.start_due(t0 + 300ms), 2u);
    EXPECT_EQ(p.running(), 2u);
}

TEST(AttemptPlan, AnAttemptIsGivenUpAfterItsTimeoutWhileOthersRemain) {
    attempt_plan p(2, 5000ms, 1000ms); // a delay longer than the attempt timeout
    ASSERT_EQ(p.start_due(t0), 0u);
    EXPECT_EQ(p.next_event(), t0 + 1000ms);
    EXPECT_EQ(p.give_up_due(t0 + 999ms), std::nullopt);
    EXPECT_EQ(p.give_up_due(t0 + 1000ms), 0u);
    EXPECT_EQ(p.running(), 0u);
    EXPECT_EQ(p.give_up_due(t0 + 1000ms), std::nullopt); // once
    EXPECT_EQ(p.start_due(t0 + 1000ms), 1u);
    // The last address has no timeout of its own: the connect deadline ends it.
    EXPECT_EQ(p.next_event(), time_point::max());
    EXPECT_EQ(p.give_up_due(t0 + 1h), std::nullopt);
}

TEST(AttemptPlan, NextEventIsTheEarlierOfTheNextStartAndAGiveUp) {
    attempt_plan p(3, 250ms, 300ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    EXPECT_EQ(p.next_event(), t0 + 250ms);
    ASSERT_EQ(p.start_due(t0 + 250ms), 1u);
    EXPECT_EQ(p.next_event(), t0 + 300ms); // the first attempt's give-up
    ASSERT_EQ(p.give_up_due(t0 + 300ms), 0u);
    EXPECT_EQ(p.next_event(), t0 + 300ms); // the third starts at once
    ASSERT_EQ(p.start_due(t0 + 300ms), 2u);
    EXPECT_EQ(p.next_event(), t0 + 550ms); // the second's give-up; the third has none
}

TEST(AttemptPlan, LostWhenEveryAddressEnded) {
    attempt_plan p(2, 250ms, 2000ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    p.failed(0, t0);
    EXPECT_FALSE(p.lost());
    ASSERT_EQ(p.start_due(t0), 1u);
    p.failed(1, t0 + 1ms);
    EXPECT_TRUE(p.lost());
    EXPECT_EQ(p.start_due(t0 + 1ms), std::nullopt);
    EXPECT_EQ(p.next_event(), time_point::max());
}

TEST(AttemptPlan, AGivenUpAttemptThatFailsLaterIsNotCountedTwice) {
    attempt_plan p(2, 5000ms, 100ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    ASSERT_EQ(p.give_up_due(t0 + 100ms), 0u);
    ASSERT_EQ(p.start_due(t0 + 100ms), 1u);
    p.failed(0, t0 + 101ms); // its completion, after it was closed
    EXPECT_EQ(p.running(), 1u);
    EXPECT_FALSE(p.lost());
}

TEST(AttemptPlan, NoAddressesIsLostAtOnce) {
    attempt_plan p(0, 250ms, 2000ms);
    EXPECT_TRUE(p.lost());
    EXPECT_EQ(p.start_due(t0), std::nullopt);
}

TEST(AttemptPlan, OneAddressHasNoTimeoutOfItsOwn) {
    attempt_plan p(1, 250ms, 100ms);
    ASSERT_EQ(p.start_due(t0), 0u);
    EXPECT_EQ(p.give_up_due(t0 + 1h), std::nullopt);
}

} // namespace
} // namespace ferry::upstream
