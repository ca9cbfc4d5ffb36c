// Cases found in review, each driven by raw bytes on real sockets through the real binary.
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <thread>

using namespace ferry_test;

namespace {

std::string post_head(const test_origin& origin, std::size_t length) {
    return "POST " + origin.url("/upload") + " HTTP/1.1\r\nHost: " + origin.authority() +
           "\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
}

} // namespace

// An upload that takes longer than --response-timeout is not late: the origin cannot
// answer before it has the body.
TEST(ReviewRegressions, SlowUploadLongerThanResponseTimeoutSucceeds) {
    test_origin origin([](origin_connection& c) {
        auto head = c.read_head();
        bool ok = false;
        auto body = c.read_body(head, ok);
        if (ok)
            c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n" + body);
    });
    ferry_process ferry({"--response-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const std::size_t pieces = 6, piece = 100;
    ASSERT_TRUE(s.send_all(post_head(origin, pieces * piece)));
    std::string sent;
    for (std::size_t i = 0; i < pieces; ++i) { // 3 s of upload against a 1 s response timeout
        auto bytes = pattern(piece, i + 1);
        sent += bytes;
        ASSERT_TRUE(s.send_all(bytes));
        std::this_thread::sleep_for(500ms);
    }
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), sent);
}

// An origin that stops reading a large body and answers 413 a little later: the stalled
// body write must not take the origin's answer down with it.
TEST(ReviewRegressions, OriginAnsweringWhileNotReadingTheBodyIsHeard) {
    test_origin origin([](origin_connection& c) {
        c.read_head();
        std::this_thread::sleep_for(2500ms); // reads nothing of the body
        c.send("HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
               "big\n");
        std::this_thread::sleep_for(500ms);
    });
    ferry_process ferry({"--send-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const std::size_t total = 64 * 1024 * 1024;
    ASSERT_TRUE(s.send_all(post_head(origin, total)));
    std::thread writer([&] {
        const std::string block(64 * 1024, 'a');
        for (std::size_t sent = 0; sent < total; sent += block.size())
            if (!s.send_all(block)) return; // ferry closes once it has answered
    });
    auto r = s.read_response(8s);
    ::shutdown(s.fd(), SHUT_RDWR);
    writer.join();
    EXPECT_EQ(status_of(r), 413) << printable(r);
    EXPECT_EQ(body_of(r), "big\n");
}

// A 304 keeps the Content-Length of the representation it stands for (RFC 9110 §8.6).
TEST(ReviewRegressions, NotModifiedKeepsContentLength) {
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n");
        c.read_head(2s);
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("GET " + origin.url("/") + " HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\n\r\n"));
    auto r = s.read_response(3s);
    EXPECT_EQ(status_of(r), 304) << printable(r);
    EXPECT_EQ(header_value(head_of(r), "content-length"), "1234") << printable(r);
    EXPECT_EQ(body_of(r), "");
}

// After a Connection: close answer, a client that trickles bytes cannot keep ferry's socket
// open: the lingering close is bounded in total time.
TEST(ReviewRegressions, LingeringCloseIsBoundedInTime) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("GET " + origin.url("/") + " HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\nConnection: close\r\n\r\n"));
    auto r = s.read_response(3s);
    ASSERT_EQ(status_of(r), 200) << printable(r);
    const auto start = std::chrono::steady_clock::now();
    bool closed = false;
    for (int i = 0; i < 12 && !closed; ++i) { // one byte every 500 ms, for at most 6 s
        if (!s.send_all("x")) break;
        closed = s.peer_closed(500ms);
    }
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 4500ms) << "ferry kept lingering while the client trickled bytes";
}

// Some origins send an extra CRLF after 100 Continue (seen from aiohttp); the final
// response after it is relayed, not refused.
TEST(ReviewRegressions, EmptyLineAfterInterimResponseIsSkipped) {
    test_origin origin([](origin_connection& c) {
        auto head = c.read_head();
        if (head.empty()) return;
        c.send("HTTP/1.1 100 Continue\r\n\r\n\r\n");
        bool ok = false;
        auto body = c.read_body(head, ok);
        c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
               body);
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("POST " + origin.url("/") + " HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    auto interim = s.read_until("\r\n\r\n", 3s);
    EXPECT_EQ(status_of(interim), 100) << printable(interim);
    ASSERT_TRUE(s.send_all("hello"));
    auto r = s.read_response(3s);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), "hello");
}
