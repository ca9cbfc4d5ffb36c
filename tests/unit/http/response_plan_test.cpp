// plan_response: the framing of the head ferry sends a client, and when it must close.
#include "http/response_plan.h"

#include <gtest/gtest.h>

#include <initializer_list>

using namespace ferry::http;

namespace {

response_head resp(int status, std::initializer_list<field> fields) {
    response_head h;
    h.status = status;
    h.minor = 1;
    h.fields = fields;
    return h;
}

} // namespace

TEST(ResponsePlan, ALengthStaysALengthAndKeepsTheConnection) {
    const auto p =
        plan_response(resp(200, {{"Content-Length", "5"}}), {body_kind::length, 5}, true, false);
    EXPECT_EQ(p.framing.content_length, 5u);
    EXPECT_FALSE(p.framing.chunked);
    EXPECT_FALSE(p.chunked_output);
    EXPECT_FALSE(p.close);
    EXPECT_FALSE(p.keep_alive_10);
}

TEST(ResponsePlan, ChunkedOrUntilCloseIsRechunkedForHttp11) {
    for (auto kind : {body_kind::chunked, body_kind::until_close}) {
        const auto p = plan_response(resp(200, {}), {kind, 0}, true, false);
        EXPECT_TRUE(p.framing.chunked);
        EXPECT_TRUE(p.chunked_output);
        EXPECT_FALSE(p.close);
    }
}

TEST(ResponsePlan, AnHttp10ClientReadsUntilFerryCloses) {
    for (auto kind : {body_kind::chunked, body_kind::until_close}) {
        const auto p = plan_response(resp(200, {}), {kind, 0}, false, false);
        EXPECT_FALSE(p.framing.chunked);
        EXPECT_FALSE(p.chunked_output);
        EXPECT_TRUE(p.close);
        EXPECT_FALSE(p.keep_alive_10);
    }
    const auto kept = plan_response(resp(200, {}), {body_kind::length, 0}, false, false);
    EXPECT_TRUE(kept.keep_alive_10);
}

TEST(ResponsePlan, HeadAnd304KeepTheRepresentationsFramingFields) {
    auto p =
        plan_response(resp(200, {{"Content-Length", "42"}}), {body_kind::none, 0}, true, false);
    EXPECT_EQ(p.framing.content_length, 42u);
    p = plan_response(resp(304, {{"Transfer-Encoding", "chunked"}}), {body_kind::none, 0}, true,
                      false);
    EXPECT_TRUE(p.framing.chunked);
    EXPECT_FALSE(p.chunked_output);
    p = plan_response(resp(204, {{"Content-Length", "42"}}), {body_kind::none, 0}, true, false);
    EXPECT_FALSE(p.framing.content_length);
}

TEST(ResponsePlan, AForcedCloseWins) {
    const auto p = plan_response(resp(200, {}), {body_kind::length, 3}, false, true);
    EXPECT_TRUE(p.close);
    EXPECT_FALSE(p.keep_alive_10);
}
