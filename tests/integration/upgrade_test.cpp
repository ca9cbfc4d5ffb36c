// HTTP Upgrade through ferry (RFC 9110 §7.8), seen with raw sockets on both sides: only an
// offered 101 turns a connection into a tunnel; anything else stays HTTP.
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <atomic>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

using namespace ferry_test;

namespace {

const std::string websocket_fields = "Connection: Upgrade\r\n"
                                     "Upgrade: websocket\r\n"
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                     "Sec-WebSocket-Version: 13\r\n";

std::string upgrade_request(const test_origin& origin, const std::string& path = "/ws",
                            const std::string& version = "1.1") {
    return "GET " + origin.url(path) + " HTTP/" + version + "\r\nHost: " + origin.authority() +
           "\r\n" + websocket_fields + "\r\n";
}

const std::string switching = "HTTP/1.1 101 Switching Protocols\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                              "\r\n";

// Closing with SO_LINGER 0 sends a reset instead of a FIN.
void reset_on_close(tcp_stream& s) {
    linger l{1, 0};
    setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// Small writes go out at once (no Nagle wait for the peer's delayed ACK).
void no_delay(const tcp_stream& s) {
    int one = 1;
    setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool exited_zero(int status) {
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// After the request head: switches, says "from-origin", then echoes until the client ends
// the tunnel.
void echo_after_switch(origin_connection& c) {
    no_delay(c.stream);
    c.send(switching + "from-origin");
    for (int i = 0; i < 1000; ++i) {
        auto got = c.stream.read_exact(1, 5s);
        if (got.empty()) return;
        c.received += got;
        c.send(got);
    }
}

void switch_then_echo(origin_connection& c) {
    if (!c.read_head().empty()) echo_after_switch(c);
}

} // namespace

TEST(Upgrade, AnOffered101TurnsTheConnectionIntoATunnelWithEarlyBytesBothWays) {
    test_origin origin(switch_then_echo);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    // The client's first tunnel bytes travel in the same write as its request, and the
    // origin's in the same write as its 101: each reaches the other side after the head.
    const std::string request = upgrade_request(origin);
    ASSERT_TRUE(s.send_all(request + "from-client"));
    auto head = s.read_until("\r\n\r\n", 5s);
    ASSERT_EQ(status_of(head), 101) << printable(head);
    EXPECT_EQ(head, "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "Connection: upgrade\r\n"
                    "Via: 1.1 ferry\r\n"
                    "\r\n");
    EXPECT_EQ(s.read_exact(11, 5s), "from-origin");
    EXPECT_EQ(s.read_exact(11, 5s), "from-client"); // echoed back through the tunnel
    ASSERT_TRUE(s.send_all("more"));
    EXPECT_EQ(s.read_exact(4, 5s), "more");
    s.close();
    ASSERT_TRUE(origin.wait_closed(1, 5s));
    EXPECT_EQ(origin.received(), "GET /ws HTTP/1.1\r\n"
                                 "Host: " +
                                     origin.authority() +
                                     "\r\n"
                                     "Upgrade: websocket\r\n"
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                     "Sec-WebSocket-Version: 13\r\n"
                                     "Connection: upgrade\r\n"
                                     "Via: 1.1 ferry\r\n"
                                     "X-Forwarded-For: 127.0.0.1\r\n"
                                     "\r\n"
                                     "from-clientmore");
    // The access log has the 101 and the bytes each way, heads included.
    auto line = wait_for_line(ferry, {"GET " + origin.url("/ws") + " 101 "});
    const auto to_client = head.size() + 11 + 11 + 4;
    const auto from_client = request.size() + 11 + 4;
    EXPECT_NE(
        line.find(" 101 " + std::to_string(to_client) + " " + std::to_string(from_client) + " "),
        std::string::npos)
        << line;
    EXPECT_EQ(origin.connections(), 1);
}

TEST(Upgrade, FlowLogShowsThe101) {
    test_origin origin([](origin_connection& c) {
        if (!c.read_head().empty()) c.send(switching + "bye");
    });
    ferry_process ferry({"--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(upgrade_request(origin)));
    auto all = s.read_until_close(5s);
    EXPECT_EQ(status_of(all), 101) << printable(all);
    EXPECT_EQ(body_of(all), "bye");
    s.close(); // the exchange is logged when the tunnel has ended both ways
    EXPECT_TRUE(ferry.wait_for_out("CLI --- PRX <== SRV\n > HTTP/1.1 101 Switching Protocols\n"))
        << ferry.out();
}

// CVE-2024-23326 (Envoy): an origin that answers an upgrade request with 200 — even one that
// claims Upgrade and Connection: upgrade — has not switched. The client connection stays
// HTTP: what the client sends next is parsed, never passed through as tunnel bytes.
TEST(Upgrade, A200ToAnUpgradeRequestIsAnOrdinaryResponseAndTheConnectionStaysHttp) {
    test_origin origin([](origin_connection& c) {
        // Pooled: the upstream connection may carry both clients' requests, so the answer
        // depends on the request, not on its place on the connection.
        for (int i = 0; i < 3; ++i) {
            auto head = c.read_head(3s);
            if (head.empty()) return;
            if (head.find("\r\nUpgrade: websocket\r\n") != std::string::npos)
                c.send("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Content-Length: 8\r\n\r\ndeclined");
            else
                c.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
        }
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    {
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(upgrade_request(origin)));
        auto r = s.read_response(5s);
        ASSERT_EQ(status_of(r), 200) << printable(r);
        EXPECT_EQ(body_of(r), "declined");
        EXPECT_EQ(header_value(r, "upgrade"), "") << printable(r);
        EXPECT_EQ(header_value(r, "connection"), "") << printable(r);
        // The next request on the same connection is HTTP, rewritten by ferry.
        ASSERT_TRUE(s.send_all("GET " + origin.url("/second") +
                               " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
        r = s.read_response(5s);
        ASSERT_EQ(status_of(r), 200) << printable(r);
        EXPECT_EQ(body_of(r), "second");
        EXPECT_EQ(header_value(r, "via"), "1.1 ferry") << printable(r);
    }
    {
        // Bytes sent right behind the upgrade request wait for the response: after a 200
        // they are the next HTTP request (here an invalid one, answered 400 by ferry).
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(upgrade_request(origin) + "SMUGGLED\r\n\r\n"));
        auto r = s.read_response(5s);
        ASSERT_EQ(status_of(r), 200) << printable(r);
        EXPECT_EQ(body_of(r), "declined");
        r = s.read_response(5s);
        EXPECT_EQ(status_of(r), 400) << printable(r);
        EXPECT_TRUE(s.peer_closed(5s));
    }
    const auto received = origin.received();
    EXPECT_NE(received.find("GET /second HTTP/1.1\r\nHost: " + origin.authority() +
                            "\r\nVia: 1.1 ferry\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"),
              std::string::npos)
        << printable(received);
    EXPECT_EQ(received.find("SMUGGLED"), std::string::npos) << printable(received);
}

TEST(Upgrade, A101ThatWasNotOfferedIsA502AndNothingIsTunnelled) {
    std::atomic<int> answer{0};
    const std::vector<std::string> answers = {
        switching,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\n\r\n",
    };
    test_origin origin([&](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send(answers[std::size_t(answer.load())] + "tunnel-bytes");
        c.stream.peer_closed(5s);
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    struct attempt {
        std::string request;
        int answer;
        std::string cause;
    };
    const std::string plain = "GET " + origin.url("/") + " HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string http10 = upgrade_request(origin, "/ws", "1.0");
    const std::string with_body = "POST " + origin.url("/ws") + " HTTP/1.1\r\nHost: x\r\n" +
                                  websocket_fields + "Content-Length: 4\r\n\r\nbody";
    const std::vector<attempt> attempts = {
        {plain, 0, "unexpected 101"},
        {http10, 0, "unexpected 101"},
        {with_body, 0, "unexpected 101"},
        {upgrade_request(origin), 1, "did not offer (Upgrade: h2c)"},
        {upgrade_request(origin), 2, "did not offer"},
        {upgrade_request(origin), 3, "did not offer"},
    };
    for (const auto& a : attempts) {
        SCOPED_TRACE(printable(a.request) + " answered " + printable(answers[a.answer]));
        answer = a.answer;
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(a.request));
        auto r = s.read_until_close(5s);
        EXPECT_EQ(status_of(r), 502) << printable(r);
        EXPECT_NE(body_of(r).find(a.cause), std::string::npos) << printable(r);
        EXPECT_EQ(r.find("tunnel-bytes"), std::string::npos) << printable(r);
    }
}

TEST(Upgrade, AnHttp10RequestsUpgradeIsNotForwarded) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(upgrade_request(origin, "/headers", "1.0")));
    auto r = s.read_until_close(5s);
    ASSERT_EQ(status_of(r), 200) << printable(r);
    const auto seen = std::string(body_of(r)); // the head as the origin received it
    EXPECT_EQ(seen.find("pgrade"), std::string::npos) << printable(seen);
    EXPECT_NE(seen.find("Sec-WebSocket-Key: "), std::string::npos) << printable(seen);
    EXPECT_NE(seen.find("Via: 1.0 ferry"), std::string::npos) << printable(seen);
}

TEST(Upgrade, GarbageInsteadOfAResponseIsA502) {
    std::atomic<int> answer{0};
    const std::vector<std::string> answers = {
        "garbage\r\n\r\n",
        std::string("\x16\x03\x01\x00\x2a\x01\x00\x00", 8),           // binary, then close
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", // head cut short
        "HTTP/1.1 1O1 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    };
    test_origin origin([&](origin_connection& c) {
        if (!c.read_head().empty()) c.send(answers[std::size_t(answer.load())]);
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (std::size_t i = 0; i < answers.size(); ++i) {
        SCOPED_TRACE(printable(answers[i]));
        answer = int(i);
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(upgrade_request(origin)));
        auto r = s.read_until_close(5s);
        EXPECT_EQ(status_of(r), 502) << printable(r);
        EXPECT_EQ(body_of(r).substr(0, 7), "ferry: ") << printable(r);
    }
}

TEST(Upgrade, AnOriginThatVanishesMidTunnelClosesTheClientPromptly) {
    for (bool reset : {false, true}) {
        SCOPED_TRACE(reset ? "origin resets" : "origin closes");
        test_origin origin([reset](origin_connection& c) {
            if (c.read_head().empty()) return;
            c.send(switching);
            c.received += c.stream.read_exact(4, 5s);
            if (reset) reset_on_close(c.stream);
        });
        ferry_process ferry;
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(upgrade_request(origin)));
        ASSERT_EQ(status_of(s.read_until("\r\n\r\n", 5s)), 101);
        ASSERT_TRUE(s.send_all("ping"));
        // The tunnel idle timeout is minutes: only the origin's end can close it this soon.
        const auto start = std::chrono::steady_clock::now();
        EXPECT_TRUE(s.peer_closed(3s));
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
        s.close();
        // The session ended and logged; nothing of it is left behind (LSan at exit).
        EXPECT_FALSE(wait_for_line(ferry, {"GET " + origin.url("/ws") + " 101 "}).empty())
            << ferry.out();
        const int status = ferry.stop(SIGTERM);
        EXPECT_TRUE(exited_zero(status)) << status << "\n" << tail(ferry.err());
    }
}

TEST(Upgrade, AClientThatVanishesMidTunnelClosesTheOriginPromptly) {
    for (bool reset : {false, true}) {
        SCOPED_TRACE(reset ? "client resets" : "client closes");
        std::atomic<bool> saw_close{false};
        test_origin origin([&saw_close](origin_connection& c) {
            if (c.read_head().empty()) return;
            c.send(switching);
            saw_close = c.stream.peer_closed(3s);
        });
        ferry_process ferry;
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(upgrade_request(origin)));
        ASSERT_EQ(status_of(s.read_until("\r\n\r\n", 5s)), 101);
        if (reset) reset_on_close(s);
        const auto start = std::chrono::steady_clock::now();
        s.close();
        ASSERT_TRUE(origin.wait_closed(1, 3s));
        EXPECT_TRUE(saw_close.load());
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
        EXPECT_FALSE(wait_for_line(ferry, {"GET " + origin.url("/ws") + " 101 "}).empty())
            << ferry.out();
        const int status = ferry.stop(SIGTERM);
        EXPECT_TRUE(exited_zero(status)) << status << "\n" << tail(ferry.err());
    }
}

// One worker thread: a tunnel whose client reads nothing while its origin floods must not
// hold up another tunnel on the same thread.
TEST(Upgrade, AStalledTunnelDoesNotHoldUpAnother) {
    std::atomic<std::uint64_t> flooded{0};
    test_origin origin([&flooded](origin_connection& c) {
        auto head = c.read_head();
        if (head.empty()) return;
        if (head.find("/flood") == std::string::npos) {
            echo_after_switch(c);
            return;
        }
        c.send(switching);
        const std::string piece(64 * 1024, 'f');
        const auto until = std::chrono::steady_clock::now() + 20s;
        while (std::chrono::steady_clock::now() < until && c.send(piece))
            flooded += piece.size();
    });
    ferry_process ferry({"--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto stalled = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(stalled.send_all(upgrade_request(origin, "/flood")));
    ASSERT_EQ(status_of(stalled.read_until("\r\n\r\n", 5s)), 101);
    // The flood is under way (and soon blocked on the stalled client) before the other starts.
    for (int i = 0; i < 500 && flooded < 1024 * 1024; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_GE(flooded.load(), 1024u * 1024);

    auto s = tcp_stream::connect_to(ferry.port());
    no_delay(s);
    ASSERT_TRUE(s.send_all(upgrade_request(origin)));
    auto head = s.read_until("\r\n\r\n", 5s);
    ASSERT_EQ(status_of(head), 101) << printable(head);
    ASSERT_EQ(s.read_exact(11, 5s), "from-origin");
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
        const std::string word = "w" + std::to_string(i);
        ASSERT_TRUE(s.send_all(word));
        ASSERT_EQ(s.read_exact(word.size(), 3s), word);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    stalled.close();
    s.close();
    EXPECT_TRUE(origin.wait_closed(2, 5s));
}
