// CONNECT tunnels (RFC 9110 §9.3.6): curl through ferry, and raw sockets for half-close.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

using namespace ferry_test;

namespace {

std::string connect_head(const std::string& authority) {
    return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

// An origin that echoes what it reads until the client ends its stream, then says "bye"
// and closes: a half-closed tunnel must still carry the answer back.
void echo_then_bye(origin_connection& c) {
    std::string all;
    for (;;) {
        auto got = c.stream.read_exact(1, 5s);
        if (got.empty()) break;
        all += got;
        c.send(got);
    }
    c.received += all;
    c.send("bye");
}

} // namespace

TEST(Tunnel, CurlThroughConnectIsByteExactBothWays) {
    test_origin origin;
    ferry_process ferry({"--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    const std::size_t size = 10 * 1024 * 1024;
    auto down = client.perform({.url = origin.url("/size/" + std::to_string(size)),
                                .proxy = ferry.proxy_url(),
                                .tunnel = true,
                                .keep_body = false});
    ASSERT_EQ(down.code, CURLE_OK);
    EXPECT_EQ(down.status, 200);
    EXPECT_EQ(down.body_size, size);
    EXPECT_EQ(down.body_hash, hash_pattern(size));
    auto up = client.perform({.url = origin.url("/echo"),
                              .proxy = ferry.proxy_url(),
                              .method = "PUT",
                              .pattern_upload = size,
                              .tunnel = true,
                              .keep_body = false});
    ASSERT_EQ(up.code, CURLE_OK);
    EXPECT_EQ(up.status, 200);
    EXPECT_EQ(up.body_size, size);
    EXPECT_EQ(up.body_hash, hash_pattern(size));
    // Through a tunnel ferry sees only bytes: no Via is added to what the origin answers.
    EXPECT_EQ(up.headers.find("Via:"), std::string::npos) << up.headers;
}

TEST(Tunnel, HalfCloseKeepsTheOtherDirectionAndPipelinedBytesArrive) {
    test_origin origin(echo_then_bye);
    ferry_process ferry({"--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    // The first tunnel bytes travel in the same packet as the CONNECT head.
    ASSERT_TRUE(s.send_all(connect_head(origin.authority()) + "early"));
    auto head = s.read_until("\r\n\r\n", 3s);
    ASSERT_EQ(status_of(head), 200) << printable(head);
    EXPECT_EQ(s.read_exact(5, 3s), "early");
    ASSERT_TRUE(s.send_all("late"));
    EXPECT_EQ(s.read_exact(4, 3s), "late");
    s.shutdown_write(); // the client is done sending; the origin still answers
    EXPECT_EQ(s.read_until_close(3s), "bye");
    ASSERT_TRUE(origin.wait_closed(1, 3s));
    EXPECT_EQ(origin.received(), "earlylate");
    EXPECT_TRUE(ferry.wait_for_out("CONNECT " + origin.authority() + " 200"));
}

TEST(Tunnel, IdleTunnelIsClosedAfterTheTunnelIdleTimeout) {
    test_origin origin(echo_then_bye);
    ferry_process ferry({"--connect-ports", "any", "--tunnel-idle-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(connect_head(origin.authority())));
    ASSERT_EQ(status_of(s.read_until("\r\n\r\n", 3s)), 200);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.peer_closed(4s));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 700ms);
    EXPECT_TRUE(ferry.wait_for_out("tunnel idle timeout"));
}

TEST(Tunnel, ConnectAnswersNameTheirCause) {
    test_origin origin;
    ferry_process ferry({"--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    struct attempt {
        std::string target;
        int status;
    };
    const std::vector<attempt> attempts = {
        {"127.0.0.1", 400},
        {"127.0.0.1:", 400},
        {"127.0.0.1:0", 400},
        {"127.0.0.1:70000", 400},
        {"127.0.0.1:80/x", 400},
        {"user@127.0.0.1:80", 400},
        {"127.0.0.1:1", 502},
        {"no-such-host.invalid:443", 502},
        {"127.0.0.1:" + std::to_string(ferry.port()), 400},
    };
    for (const auto& a : attempts) {
        SCOPED_TRACE(a.target);
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all("CONNECT " + a.target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        auto r = s.read_response(5s);
        EXPECT_EQ(status_of(r), a.status) << printable(r);
        EXPECT_EQ(body_of(r).substr(0, 7), "ferry: ") << printable(r);
        EXPECT_TRUE(s.peer_closed(3s));
    }
    EXPECT_EQ(origin.connections(), 0);
}
