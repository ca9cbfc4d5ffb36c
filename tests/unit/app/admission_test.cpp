// The connection-limit decision and its bookkeeping (app/admission.h).
#include "app/admission.h"

#include <gtest/gtest.h>

using namespace ferry::app;
using boost::asio::ip::make_address;

TEST(Admission, ZeroMeansNoLimit) {
    EXPECT_EQ(decide_admission(1'000'000, 1'000'000, {}), admit_verdict::admitted);
}

TEST(Admission, TheTotalLimitComesFirst) {
    const connection_limits limits{10, 2};
    EXPECT_EQ(decide_admission(9, 1, limits), admit_verdict::admitted);
    EXPECT_EQ(decide_admission(10, 0, limits), admit_verdict::over_total);
    EXPECT_EQ(decide_admission(10, 2, limits), admit_verdict::over_total);
    EXPECT_EQ(decide_admission(5, 2, limits), admit_verdict::over_client);
}

TEST(Admission, CountsPerAddressAndGivesSlotsBack) {
    admission a;
    const auto one = make_address("192.0.2.1"), two = make_address("2001:db8::1");
    const connection_limits limits{3, 2};
    EXPECT_EQ(a.admit(one, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(one, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(one, limits), admit_verdict::over_client);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::over_total);
    EXPECT_EQ(a.open(), 3u);
    EXPECT_EQ(a.open_from(one), 2u);
    a.release(one);
    EXPECT_EQ(a.open_from(one), 1u);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::admitted);
    a.release(one);
    a.release(two);
    a.release(two);
    EXPECT_EQ(a.open(), 0u);
    a.release(two); // never admitted: nothing to give back, no wrap-around
    EXPECT_EQ(a.open(), 0u);
}

TEST(Admission, RefusalsNameTheLimit) {
    const connection_limits limits{100, 4};
    EXPECT_EQ(refusal_cause(admit_verdict::over_total, limits, make_address("192.0.2.1")),
              "too many connections (limit 100)");
    EXPECT_EQ(refusal_cause(admit_verdict::over_client, limits, make_address("2001:db8::1")),
              "too many connections from 2001:db8::1 (limit 4)");
}

TEST(Admission, AutomaticLimitIsAThirdOfTheFileLimitLessAReserve) {
    EXPECT_EQ(automatic_connection_limit(1'048'576), (1'048'576u - 128) / 3);
    EXPECT_EQ(automatic_connection_limit(1024), (1024u - 128) / 3);
    EXPECT_EQ(automatic_connection_limit(64), 1u);
}
