// observe::flow_ring: the last N exchanges with sequence numbers; what a block may show.
#include "observe/flow_ring.h"

#include <gtest/gtest.h>

namespace ferry::observe {
namespace {

exchange_record exchange(int n) {
    exchange_record r;
    r.connection = std::uint64_t(n);
    r.client = "127.0.0.1:5555";
    r.method = "GET";
    r.target = "http://example.test/" + std::to_string(n);
    r.request_line = "GET " + r.target + " HTTP/1.1";
    r.user_agent = "curl/8";
    r.status = 200;
    r.status_line = "HTTP/1.1 200 OK";
    return r;
}

TEST(FlowRing, KeepsTheLastNInOrder) {
    flow_ring ring(3);
    EXPECT_EQ(ring.last(), 0u);
    EXPECT_TRUE(ring.since(0, 10).empty());
    for (int i = 1; i <= 5; ++i)
        ring.record(exchange(i), 1000 + i);
    EXPECT_EQ(ring.last(), 5u);
    auto all = ring.since(0, 10);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].seq, 3u);
    EXPECT_EQ(all[2].seq, 5u);
    EXPECT_EQ(all[2].time_ms, 1005);
    EXPECT_EQ(all[2].host, "example.test:80");
    EXPECT_NE(all[2].block.find("GET http://example.test/5 HTTP/1.1"), std::string::npos);
    auto after = ring.since(4, 10);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_EQ(after[0].seq, 5u);
    auto newest = ring.since(0, 2);
    ASSERT_EQ(newest.size(), 2u);
    EXPECT_EQ(newest[0].seq, 4u);
    EXPECT_TRUE(ring.since(5, 10).empty());
}

TEST(FlowRing, MasksUserinfo) {
    EXPECT_EQ(mask_userinfo("GET http://user:pw@example.test/x HTTP/1.1"),
              "GET http://***@example.test/x HTTP/1.1");
    EXPECT_EQ(mask_userinfo("CONNECT u:p@example.test:443 HTTP/1.1"),
              "CONNECT ***@example.test:443 HTTP/1.1");
    EXPECT_EQ(mask_userinfo("GET http://example.test/a@b HTTP/1.1"),
              "GET http://example.test/a@b HTTP/1.1");
    // Refused lines, shown as they came: spacing does not hide the credentials.
    EXPECT_EQ(mask_userinfo("GET  http://alice:s3cret@h/ HTTP/1.1"), "GET  http://***@h/ HTTP/1.1");
    EXPECT_EQ(mask_userinfo("GET\thttp://a:b@h/ HTTP/1.1"), "GET\thttp://***@h/ HTTP/1.1");
    EXPECT_EQ(mask_userinfo("CONNECT \t u:p@h:443 HTTP/1.1"), "CONNECT \t ***@h:443 HTTP/1.1");
    EXPECT_EQ(mask_userinfo("GET x http://a:b@h/ http://c:d@i/"),
              "GET x http://***@h/ http://***@i/");
    EXPECT_EQ(mask_userinfo("GET /a@b HTTP/1.1"), "GET /a@b HTTP/1.1");
    EXPECT_EQ(mask_userinfo("GET http://h/?u=a@b HTTP/1.1"), "GET http://h/?u=a@b HTTP/1.1");
    flow_ring ring(2);
    auto r = exchange(1);
    r.request_line = "GET http://alice:s3cret@example.test/ HTTP/1.1";
    r.status = 400;
    ring.record(r, 0);
    auto e = ring.since(0, 1);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].block.find("s3cret"), std::string::npos) << e[0].block;
}

TEST(FlowRing, EntryJson) {
    flow_ring ring(2);
    auto r = exchange(7);
    r.user = "al\"ice";
    ring.record(r, 1234);
    std::string json;
    append_flow_entry_json(ring.since(0, 1).at(0), json);
    EXPECT_NE(json.find(R"("seq":1,"time":1234,"connection":7,"stream":0,)"), std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("user":"al\"ice")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("status":200)"), std::string::npos) << json;
}

} // namespace
} // namespace ferry::observe
