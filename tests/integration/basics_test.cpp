// The original contract and everyday relaying, driven by libcurl through the real binary.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fmt/format.h>
#include <thread>
#include <vector>

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

TEST(Basics, EverydayGetPostPutHeadThroughOneClient) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto get = client.perform({.url = origin.url("/"), .proxy = ferry.proxy_url()});
    EXPECT_EQ(get.body, "hello\n");
    auto post = client.perform({.url = origin.url("/echo"),
                                .proxy = ferry.proxy_url(),
                                .method = "POST",
                                .body = "name=ferry&kind=proxy"});
    EXPECT_EQ(post.body, "name=ferry&kind=proxy");
    auto put = client.perform(
        {.url = origin.url("/echo"), .proxy = ferry.proxy_url(), .method = "PUT", .body = "v2"});
    EXPECT_EQ(put.body, "v2");
    auto head = client.perform(
        {.url = origin.url("/size/4096"), .proxy = ferry.proxy_url(), .method = "HEAD"});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body_size, 0u);
    EXPECT_NE(head.headers.find("Content-Length: 4096\r\n"), std::string::npos) << head.headers;
    for (const auto* r : {&get, &post, &put, &head})
        EXPECT_EQ(r->code, CURLE_OK) << curl_easy_strerror(r->code);
}

TEST(Basics, OriginStatusAndReasonReachTheClient) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (int status : {200, 201, 202, 301, 302, 400, 403, 404, 410, 418, 500, 503, 599}) {
        auto r = client.perform(
            {.url = origin.url(fmt::format("/status/{}", status)), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK) << status << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.status, status);
        EXPECT_EQ(r.headers.rfind(fmt::format("HTTP/1.1 {} Test\r\n", status), 0), 0u) << r.headers;
    }
}

TEST(Basics, BinaryBodiesWithEveryByteValueAreByteExact) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::string body;
    for (int round = 0; round < 40; ++round)
        for (int b = 0; b < 256; ++b)
            body.push_back(static_cast<char>(b));
    body += "\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"; // framing look-alikes inside a body
    curl_client client;
    auto r = client.perform(
        {.url = origin.url("/echo"), .proxy = ferry.proxy_url(), .method = "POST", .body = body});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.body, body);
}

TEST(Basics, PathsAndQueriesArePassedUntouched) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform(
        {.url = origin.url("/a%20b/c;p=1/%7Euser?x=%2F&y=1&empty=&z"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    auto received = origin.received();
    EXPECT_EQ(received.rfind("GET /a%20b/c;p=1/%7Euser?x=%2F&y=1&empty=&z HTTP/1.1\r\n", 0), 0u)
        << received;
}

TEST(Basics, ManyClientsAtOnce) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            curl_client client;
            for (int i = 0; i < 5; ++i) {
                std::size_t n = 3000 * t + i;
                auto r = client.perform(
                    {.url = origin.url(fmt::format("/chunked/{}", n)), .proxy = ferry.proxy_url()});
                good += r.code == CURLE_OK && r.body == pattern(n);
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(good.load(), 80);
}
