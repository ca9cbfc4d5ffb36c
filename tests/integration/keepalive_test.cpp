// Persistent connections on both sides (RFC 9112 §9): a client's connection serves request
// after request, pipelined requests are answered in order, the upstream connection is reused
// for the same client's next request to the same origin and only then, Connection: close from
// either side is honoured, and HTTP/1.0 keep-alive works when asked for.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/requests.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fmt/format.h>
#include <memory>

using namespace ferry_test;

namespace {

std::string first_line(std::string_view message) {
    return std::string(message.substr(0, message.find("\r\n")));
}

// An origin that numbers its connections and answers "conn C req R" on each, with the head
// `response_head` (status line and fields, without Content-Length). After each answer it
// closes if `close_after` says so; otherwise it waits for the next request on the connection.
struct numbering_origin {
    std::shared_ptr<std::atomic<int>> next = std::make_shared<std::atomic<int>>(0);
    test_origin origin;

    numbering_origin(std::string response_head, bool close_after)
        : origin([next = next, response_head, close_after](origin_connection& c) {
              const int conn = ++*next;
              for (int req = 1;; ++req) {
                  auto head = c.read_head(5s);
                  if (head.empty()) return;
                  auto body = fmt::format("conn {} req {}", conn, req);
                  c.send(fmt::format("{}Content-Length: {}\r\n\r\n{}", response_head, body.size(),
                                     body));
                  if (close_after) return;
              }
          }) {}
};

} // namespace

TEST(KeepAlive, OneClientConnectionServesManyRequests) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    long connects = 0;
    for (int i = 0; i < 6; ++i) {
        auto r = client.perform(
            {.url = origin.url(fmt::format("/size/{}", 1000 + i)), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, pattern(1000 + i));
        connects += r.connects;
    }
    EXPECT_EQ(connects, 1) << "curl had to reconnect to ferry";
}

TEST(KeepAlive, UpstreamConnectionIsReusedForTheSameClientAndOrigin) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto a = client.perform({.url = origin.url("/size/100"), .proxy = ferry.proxy_url()});
    auto b = client.perform(
        {.url = origin.url("/echo"), .proxy = ferry.proxy_url(), .method = "POST", .body = "x"});
    auto c = client.perform({.url = origin.url("/chunked/5000"), .proxy = ferry.proxy_url()});
    auto d = client.perform(
        {.url = origin.url("/size/100"), .proxy = ferry.proxy_url(), .method = "HEAD"});
    auto e = client.perform({.url = origin.url("/status/404"), .proxy = ferry.proxy_url()});
    auto f = client.perform({.url = origin.url("/size/100"), .proxy = ferry.proxy_url()});
    for (const auto* r : {&a, &b, &c, &d, &e, &f})
        ASSERT_EQ(r->code, CURLE_OK) << curl_easy_strerror(r->code);
    EXPECT_EQ(b.body, "x");
    EXPECT_EQ(c.body, pattern(5000));
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(f.body, pattern(100));
    // The POST, which ferry could not retry, gets a fresh connection of its own rather than
    // the idle one; the requests after it share that one.
    EXPECT_EQ(origin.connections(), 2) << "the GETs should share the upstream connections";
}

TEST(KeepAlive, EachOriginGetsItsOwnConnection) {
    test_origin a, b;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (auto* origin : {&a, &a, &b, &b}) {
        auto r = client.perform({.url = origin->url("/size/10"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, pattern(10));
    }
    EXPECT_EQ(a.connections(), 1);
    EXPECT_EQ(b.connections(), 1);
    // A request for one origin never goes down another origin's connection.
    EXPECT_EQ(b.received().find(a.authority()), std::string::npos) << b.received();
}

TEST(KeepAlive, TwoClientsDoNotShareAnUpstreamConnectionMidExchange) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::atomic<int> wrong{0};
    auto run = [&](int id) {
        curl_client client;
        for (int i = 0; i < 15; ++i) {
            std::size_t n = 1000 * id + i;
            auto r = client.perform(
                {.url = origin.url(fmt::format("/size/{}", n)), .proxy = ferry.proxy_url()});
            if (r.code != CURLE_OK || r.body != pattern(n)) ++wrong;
        }
    };
    std::thread t1(run, 1), t2(run, 2), t3(run, 3);
    t1.join();
    t2.join();
    t3.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(KeepAlive, PipelinedRequestsAreAnsweredInOrder) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    // All in one write; the first answer is the slowest.
    std::string batch = get(origin, "/slow/300") + get(origin, "/size/5") +
                        fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 9\r\n\r\n"
                                    "pipelined",
                                    origin.url("/echo"), origin.authority()) +
                        fmt::format("HEAD {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url("/size/77"),
                                    origin.authority()) +
                        get(origin, "/chunked/3000") + get(origin, "/status/404");
    ASSERT_TRUE(s.send_all(batch));
    auto r1 = s.read_response(5s);
    EXPECT_EQ(body_of(r1), "slow\n") << r1;
    auto r2 = s.read_response(5s);
    EXPECT_EQ(body_of(r2), pattern(5)) << r2;
    auto r3 = s.read_response(5s);
    EXPECT_EQ(body_of(r3), "pipelined") << r3;
    auto r4 = s.read_response(5s, true);
    EXPECT_EQ(status_of(r4), 200) << r4;
    EXPECT_EQ(header_value(r4, "content-length"), "77") << r4;
    EXPECT_EQ(body_of(r4), "") << r4;
    auto r5 = s.read_response(5s);
    std::string body;
    EXPECT_TRUE(dechunk(body_of(r5), body)) << first_line(r5);
    EXPECT_EQ(body, pattern(3000));
    auto r6 = s.read_response(5s);
    EXPECT_EQ(status_of(r6), 404) << r6;
    EXPECT_FALSE(s.peer_closed(200ms)) << "the connection stays open for more";
    EXPECT_EQ(origin.connections(), 2) << "one for the POST (never on an idle connection), "
                                          "one shared by the rest";
}

TEST(KeepAlive, PipelinedRequestsToDifferentOriginsAndAnErrorStayInOrder) {
    test_origin a, b;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(a, "/size/3") + get(b, "/slow/200") +
                           "GET http://no-such-host.invalid/ HTTP/1.1\r\n"
                           "Host: no-such-host.invalid\r\n\r\n" +
                           get(a, "/size/4")));
    EXPECT_EQ(body_of(s.read_response(5s)), pattern(3));
    EXPECT_EQ(body_of(s.read_response(5s)), "slow\n");
    EXPECT_EQ(status_of(s.read_response(5s)), 502);
    EXPECT_EQ(body_of(s.read_response(5s)), pattern(4));
}

TEST(KeepAlive, OriginConnectionCloseIsHonoured) {
    // The origin says close but leaves the socket open: ferry must not send it anything more.
    numbering_origin o("HTTP/1.1 200 OK\r\nConnection: close\r\n", false);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    long connects = 0;
    for (int i = 1; i <= 3; ++i) {
        auto r = client.perform({.url = o.origin.url("/"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, fmt::format("conn {} req 1", i));
        connects += r.connects;
    }
    EXPECT_EQ(o.origin.connections(), 3);
    // Connection is hop-by-hop: the client's own connection to ferry lives on.
    EXPECT_EQ(connects, 1);
}

TEST(KeepAlive, OriginThatClosesAfterEachResponseIsReconnected) {
    numbering_origin o("HTTP/1.1 200 OK\r\nConnection: close\r\n", true);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (int i = 1; i <= 3; ++i) {
        auto r = client.perform({.url = o.origin.url("/"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, fmt::format("conn {} req 1", i));
    }
}

TEST(KeepAlive, HttpOneZeroOriginIsReusedOnlyWhenItSaysKeepAlive) {
    numbering_origin plain("HTTP/1.0 200 OK\r\n", false);
    numbering_origin kept("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", false);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (int i = 1; i <= 2; ++i) {
        auto r = client.perform({.url = plain.origin.url("/"), .proxy = ferry.proxy_url()});
        EXPECT_EQ(r.body, fmt::format("conn {} req 1", i));
    }
    for (int i = 1; i <= 2; ++i) {
        auto r = client.perform({.url = kept.origin.url("/"), .proxy = ferry.proxy_url()});
        EXPECT_EQ(r.body, fmt::format("conn 1 req {}", i));
    }
}

TEST(KeepAlive, StaleUpstreamConnectionIsReplacedWithoutTheClientNoticing) {
    // The origin closes an idle kept connection (its own idle timeout) between requests.
    auto next = std::make_shared<std::atomic<int>>(0);
    test_origin closing([next](origin_connection& c) {
        const int conn = ++*next;
        auto head = c.read_head(5s);
        if (head.empty()) return;
        auto body = fmt::format("conn {} req 1", conn);
        c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", body.size(), body));
        std::this_thread::sleep_for(100ms); // then close, idle
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto first = client.perform({.url = closing.url("/"), .proxy = ferry.proxy_url()});
    EXPECT_EQ(first.body, "conn 1 req 1");
    ASSERT_TRUE(closing.wait_closed(1, 3s));
    std::this_thread::sleep_for(200ms);
    auto second = client.perform({.url = closing.url("/"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(second.code, CURLE_OK) << curl_easy_strerror(second.code);
    EXPECT_EQ(second.status, 200);
    EXPECT_EQ(second.body, "conn 2 req 1");
}

TEST(KeepAlive, ClientConnectionCloseIsHonoured) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/size/20", "Connection: close\r\n")));
    auto response = s.read_response(5s);
    EXPECT_EQ(body_of(response), pattern(20));
    EXPECT_EQ(header_value(response, "connection"), "close") << response;
    EXPECT_TRUE(s.peer_closed(3s)) << "ferry should close after Connection: close";
}

TEST(KeepAlive, HttpOneZeroClientKeepAliveWhenAsked) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(s.send_all(get(origin, fmt::format("/size/{}", 30 + i),
                                   "Connection: keep-alive\r\n", "HTTP/1.0")));
        auto response = s.read_response(5s);
        ASSERT_EQ(status_of(response), 200) << response;
        EXPECT_EQ(header_value(response, "connection"), "keep-alive") << response;
        EXPECT_EQ(header_value(response, "content-length"), std::to_string(30 + i)) << response;
        EXPECT_EQ(body_of(response), pattern(30 + i));
    }
    EXPECT_FALSE(s.peer_closed(300ms));
    EXPECT_EQ(origin.connections(), 1);

    // Without keep-alive, an HTTP/1.0 exchange ends with the connection.
    auto once = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(once.send_all(get(origin, "/size/9", "", "HTTP/1.0")));
    EXPECT_EQ(body_of(once.read_response(5s)), pattern(9));
    EXPECT_TRUE(once.peer_closed(3s));
}

TEST(KeepAlive, CurlHttpOneZeroClientIsServed) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (int i = 0; i < 2; ++i) {
        auto r = client.perform(
            {.url = origin.url("/chunked/2500"), .proxy = ferry.proxy_url(), .http10 = true});
        ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, pattern(2500));
    }
}

TEST(KeepAlive, IdleClientIsClosedAfterTheIdleTimeout) {
    test_origin origin;
    ferry_process ferry({"--idle-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/size/10")));
    EXPECT_EQ(body_of(s.read_response(5s)), pattern(10));
    auto idle_since = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.peer_closed(4s)) << "ferry kept an idle client past --idle-timeout 1";
    auto idle = std::chrono::steady_clock::now() - idle_since;
    EXPECT_GE(idle, 700ms);
}
