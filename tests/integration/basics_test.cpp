// The original contract and everyday relaying, driven by libcurl through the real binary.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"

#include <gtest/gtest.h>

using namespace ferry_test;

TEST(Basics, RelaysGetThroughAbsoluteFormByteExact) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/size/100000"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, pattern(100000));
    EXPECT_NE(r.headers.find("Via: 1.1 ferry"), std::string::npos) << r.headers;
}
