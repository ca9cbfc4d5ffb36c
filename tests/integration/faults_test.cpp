// Faults (issue 6, part 5): origins that reset or half-close, clients that vanish, a DNS
// server that never answers, an origin that never reads. Each test asserts the status or
// close the client gets, that a bystander client on another connection is served byte-exact
// meanwhile (support/faults.h, on the same single worker), that ferry's connection gauges on
// /metrics return to zero, and that ferry then exits cleanly at SIGTERM (under the ASan build
// that includes LeakSanitizer's report at exit).
//
// Already covered elsewhere, not repeated here: an origin closing (FIN) without a response
// (errors_test.cpp, Errors.OriginClosingWithoutAResponseIs502); a response cut short by a
// FIN (Errors.ResponseCutShort*, malformed_response_test.cpp MalformedResponseCutShort);
// silent or stalling origins (timeouts_test.cpp Timeouts.SilentOriginIsGatewayTimeout,
// OriginStallingMidBodyClosesClientMidMessage); a client stalling mid-body
// (Timeouts.ClientStallingMidBodyIsClosed); a stalled reader holding the origin back
// (large_transfer_test.cpp LargeTransfer.StalledClientHoldsTheOriginBackInsteadOfBuffering);
// the DNS timeout's status, text, timing and other clients served meanwhile
// (dns_test.cpp Dns.SilentServerIs504WithinTheDnsTimeoutAndOthersAreServedMeanwhile; here
// only the resources it holds); stale pooled connections (pool_safety_test.cpp).
#include "support/eventually.h"
#include "support/faults.h"

#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/proc_status.h"
#include "support/requests.h"
#include "support/socket_io.h"
#include "support/strict_reader.h"
#include "support/test_dns.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

using namespace ferry_test;
using namespace std::literals;

namespace {

using clock_type = std::chrono::steady_clock;

// Waits (bounded) until `flag` is set.
bool wait_flag(const std::atomic<bool>& flag, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = clock_type::now() + timeout;
    while (!flag && clock_type::now() < deadline)
        std::this_thread::sleep_for(5ms);
    return flag;
}

// Waits (bounded) until ferry has closed its side of `c`, reading nothing.
bool wait_peer_gone(const origin_connection& c, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = clock_type::now() + timeout;
    while (!peer_gone(c.stream) && clock_type::now() < deadline)
        std::this_thread::sleep_for(10ms);
    return peer_gone(c.stream);
}

// A POST of `size` pattern bytes to `path`, sent in pieces of `piece` bytes until a send
// fails (ferry closed, or the send timeout passed); `uploaded` counts the body bytes sent.
void upload(tcp_stream& s, const test_origin& origin, std::string_view path, std::size_t size,
            std::size_t piece = 1 << 20, std::atomic<std::size_t>* uploaded = nullptr) {
    if (!s.send_all(
            request("POST", path, origin, "Content-Length: " + std::to_string(size) + "\r\n")))
        return;
    const auto bytes = pattern(piece);
    for (std::size_t sent = 0; sent < size; sent += bytes.size()) {
        if (!s.send_all(bytes)) return;
        if (uploaded) *uploaded += bytes.size();
    }
}

void expect_ferry_error(std::string_view response, int status) {
    EXPECT_EQ(status_of(response), status) << printable(response);
    const auto body = body_of(response);
    EXPECT_TRUE(body.starts_with("ferry: ")) << printable(response);
    EXPECT_TRUE(body.ends_with("\n")) << printable(response);
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << printable(response);
    EXPECT_EQ(header_value(head_of(response), "content-type").rfind("text/plain", 0), 0u);
}

// ---------------------------------------------------------------------------------------
// The origin resets (RST) in the middle of its response, once the client has seen what was
// sent so far: the client connection is closed without a complete-looking message.

struct reset_case {
    std::string name;
    std::string sent; // before the reset
    bool chunked;
};

void PrintTo(const reset_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<reset_case> reset_cases() {
    const std::string cl = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    const std::string ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    return {
        {"ContentLengthAfterHead", cl, false},
        {"ContentLengthMidBody", cl + pattern(30000), false},
        {"ChunkedAfterHead", ch, true},
        {"ChunkedMidBody", ch + "7530\r\n" + pattern(30000) + "\r\n", true},
        {"ChunkedMidChunk", ch + "7530\r\n" + pattern(10000), true},
    };
}

class FaultsOriginReset : public ::testing::TestWithParam<reset_case> {};

TEST_P(FaultsOriginReset, MidResponseClosesTheClientWithoutACompleteMessage) {
    const auto& c = GetParam();
    auto seen = std::make_shared<std::atomic<bool>>(false);
    test_origin origin([&c, seen](origin_connection& conn) {
        if (conn.read_head(5s).empty()) return;
        conn.send(c.sent);
        wait_flag(*seen); // the client has what was sent
        reset_connection(conn.stream);
    });
    fault_ferry f;
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();

    auto s = tcp_stream::connect_to(f.ferry.port());
    ASSERT_TRUE(s.send_all(request("GET", "/reset", origin)));
    auto got = s.read_until("\r\n\r\n", 5s);
    const std::size_t body_sent = c.sent.size() - c.sent.find("\r\n\r\n") - 4;
    const std::size_t have = got.size() - got.find("\r\n\r\n") - 4;
    if (have < body_sent / 2) got += s.read_exact(body_sent / 2 - have, 5s); // half the body
    *seen = true;
    got += s.read_until_close(5s);
    SCOPED_TRACE("client read: " + printable(got, 300));
    EXPECT_TRUE(s.peer_closed(100ms)) << "the client connection was left open";
    const auto reading = read_strictly(got);
    ASSERT_EQ(reading.error, "");
    ASSERT_EQ(reading.messages.size(), 1u);
    EXPECT_EQ(reading.messages[0].status, 200);
    EXPECT_FALSE(reading.messages[0].complete) << "a reset response was passed off as complete";
    if (c.chunked) {
        EXPECT_EQ(got.find("\r\n0\r\n\r\n"), std::string::npos);
    }
    EXPECT_TRUE(origin.wait_closed(1, 2s));
    s.close(); // else ferry's lingering close waits for it (bounded) before letting go
    f.expect_all_well();
}

INSTANTIATE_TEST_SUITE_P(, FaultsOriginReset, ::testing::ValuesIn(reset_cases()),
                         [](const auto& info) { return info.param.name; });

// Reset before any byte of a response: a 502 (on a fresh connection a GET is not retried).
TEST(Faults, OriginResetBeforeRespondingIs502) {
    test_origin origin([](origin_connection& c) {
        if (c.read_head(5s).empty()) return;
        reset_connection(c.stream);
    });
    fault_ferry f;
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();
    auto s = tcp_stream::connect_to(f.ferry.port());
    ASSERT_TRUE(s.send_all(request("GET", "/reset", origin)));
    auto r = s.read_response(5s);
    expect_ferry_error(r, 502);
    EXPECT_NE(std::string(body_of(r)).find(origin.authority()), std::string::npos) << r;
    EXPECT_EQ(origin.connections(), 1);
    s.close();
    f.expect_all_well();
}

// The origin resets while a large upload streams to it and before answering: 502 (no byte
// of a response went out), the client connection closed (the rest of its body is unread),
// and the POST is not sent again.
TEST(Faults, OriginResetMidUploadIs502) {
    auto got_body = std::make_shared<std::atomic<std::size_t>>(0);
    test_origin origin([got_body](origin_connection& c) {
        if (c.read_head(5s).empty()) return;
        auto part = c.stream.read_exact(256 << 10, 5s);
        *got_body = part.size();
        reset_connection(c.stream);
    });
    fault_ferry f;
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();

    auto s = tcp_stream::connect_to(f.ferry.port());
    set_send_timeout(s, 10s);
    const std::size_t size = 32 << 20;
    std::thread uploader([&] { upload(s, origin, "/upload", size); });
    const auto start = clock_type::now();
    auto r = s.read_response(10s);
    const auto took = clock_type::now() - start;
    EXPECT_TRUE(s.peer_closed(5s)) << "the client connection was kept";
    s.shutdown_write();
    uploader.join();
    expect_ferry_error(r, 502);
    EXPECT_EQ(header_value(head_of(r), "connection"), "close");
    EXPECT_LT(took, 5s);
    EXPECT_EQ(got_body->load(), std::size_t(256 << 10));
    EXPECT_EQ(origin.connections(), 1) << "the POST was sent again";
    f.expect_all_well();
}

// ---------------------------------------------------------------------------------------
// Upstream half-close: the origin shuts down its write side but goes on reading.

TEST(Faults, OriginHalfClosingAfterACompleteResponseIsNotReused) {
    auto reused = std::make_shared<std::atomic<int>>(0);
    auto half_closed = std::make_shared<std::atomic<int>>(0);
    test_origin origin([reused, half_closed](origin_connection& c) {
        if (c.read_head(5s).empty()) return;
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n" + pattern(50000));
        c.stream.shutdown_write();
        ++*half_closed;
        if (!c.read_head(10s).empty()) ++*reused; // a request it can no longer answer
        c.stream.read_until_close(10s);
    });
    fault_ferry f;
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();

    auto s = tcp_stream::connect_to(f.ferry.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(s.send_all(request("GET", "/half", origin)));
        auto r = s.read_response(5s);
        EXPECT_EQ(status_of(r), 200) << printable(r, 200);
        EXPECT_EQ(body_of(r), pattern(50000)) << "request " << i;
        // The origin's FIN follows its response by a moment; on a loaded machine the next
        // request could otherwise reach ferry first, and no proxy can see a FIN not yet sent.
        ASSERT_TRUE(eventually([&] { return half_closed->load() > i; }));
    }
    EXPECT_EQ(origin.connections(), 3);
    EXPECT_EQ(reused->load(), 0) << "a request went on a connection the origin had half-closed";
    s.close();
    EXPECT_TRUE(origin.wait_closed(3, 5s)) << "ferry kept a half-closed upstream connection";
    f.expect_all_well();
}

TEST(Faults, OriginHalfClosingBeforeRespondingIs502AtOnce) {
    struct variant {
        const char* name;
        std::size_t body; // request body size; 0: a GET
    };
    for (const variant v : {variant{"Get", 0}, variant{"LargeUpload", 16 << 20}}) {
        SCOPED_TRACE(v.name);
        test_origin origin([](origin_connection& c) {
            if (c.read_head(5s).empty()) return;
            c.stream.shutdown_write();
            c.stream.read_until_close(15s); // goes on reading whatever comes
        });
        fault_ferry f;
        ASSERT_TRUE(f.ferry.started()) << f.ferry.err();

        auto s = tcp_stream::connect_to(f.ferry.port());
        set_send_timeout(s, 10s);
        std::thread uploader;
        const auto start = clock_type::now();
        if (v.body == 0) {
            ASSERT_TRUE(s.send_all(request("GET", "/half", origin)));
        } else {
            uploader = std::thread([&] { upload(s, origin, "/half", v.body); });
        }
        auto r = s.read_response(10s);
        const auto took = clock_type::now() - start;
        expect_ferry_error(r, 502);
        EXPECT_LT(took, 3s) << "ferry waited for the upload to end";
        s.shutdown_write();
        if (uploader.joinable()) uploader.join();
        s.close();
        EXPECT_EQ(origin.connections(), 1);
        EXPECT_TRUE(origin.wait_closed(1, 5s)) << "ferry kept the half-closed connection";
        f.expect_all_well();
    }
}

// ---------------------------------------------------------------------------------------
// The client vanishes: the origin sees the request cut short (no complete body, no last
// chunk), the upstream connection is closed and never reused.

TEST(Faults, ClientVanishingMidUploadCutsTheRequestShort) {
    struct variant {
        const char* name;
        bool chunked;
        bool reset;
    };
    for (const variant v : {variant{"ContentLengthThenClose", false, false},
                            variant{"ChunkedThenReset", true, true}}) {
        SCOPED_TRACE(v.name);
        auto complete = std::make_shared<std::atomic<int>>(0);
        auto ended = std::make_shared<std::atomic<bool>>(false);
        auto started = std::make_shared<std::atomic<bool>>(false);
        test_origin origin([complete, ended, started](origin_connection& c) {
            auto head = c.read_head(5s);
            if (head.empty()) return;
            if (head.find("/good") != std::string::npos) {
                c.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
                return;
            }
            *started = true;
            bool ok = false;
            c.read_body(head, ok, 20s);
            if (ok) ++*complete;
            *ended = true;
        });
        fault_ferry f;
        ASSERT_TRUE(f.ferry.started()) << f.ferry.err();

        {
            auto s = tcp_stream::connect_to(f.ferry.port());
            const auto framing =
                v.chunked ? "Transfer-Encoding: chunked\r\n"s : "Content-Length: 16777216\r\n"s;
            ASSERT_TRUE(s.send_all(request("POST", "/upload", origin, framing)));
            const auto piece = pattern(64 << 10);
            for (int i = 0; i < 16; ++i) {
                if (v.chunked) {
                    ASSERT_TRUE(s.send_all("10000\r\n"));
                }
                ASSERT_TRUE(s.send_all(piece));
                if (v.chunked) {
                    ASSERT_TRUE(s.send_all("\r\n"));
                }
            }
            // Vanishing before ferry has read the head would test nothing here.
            ASSERT_TRUE(wait_flag(*started)) << "the request never reached the origin";
            if (v.reset)
                reset_connection(s);
            else
                s.close();
        }
        EXPECT_TRUE(wait_flag(*ended, 10s)) << "the origin was left waiting for the body";
        EXPECT_EQ(complete->load(), 0) << "the origin got a complete-looking request";
        EXPECT_TRUE(origin.wait_closed(1, 5s));
        // Another client's request to the same origin goes on a new connection.
        auto s2 = tcp_stream::connect_to(f.ferry.port());
        ASSERT_TRUE(s2.send_all(request("GET", "/good", origin, "Connection: close\r\n")));
        EXPECT_EQ(body_of(s2.read_response(5s)), "hello\n");
        EXPECT_EQ(origin.connections(), 2);
        s2.close();
        EXPECT_TRUE(origin.wait_closed(2, 5s));
        f.expect_all_well();
    }
}

TEST(Faults, ClientVanishingMidDownloadClosesTheUpstream) {
    constexpr std::size_t size = 256 << 20;
    for (const bool chunked : {false, true}) {
        SCOPED_TRACE(chunked ? "chunked" : "content-length");
        auto sent_all = std::make_shared<std::atomic<bool>>(false);
        test_origin origin([chunked, sent_all](origin_connection& c) {
            if (c.read_head(5s).empty()) return;
            if (!c.send(chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"s
                                : "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) +
                                      "\r\n\r\n"))
                return;
            const auto piece = pattern(1 << 20);
            set_send_timeout(c.stream, 10s);
            for (std::size_t sent = 0; sent < size; sent += piece.size()) {
                if (chunked && !c.send("100000\r\n")) return;
                if (!c.send(piece)) return;
                if (chunked && !c.send("\r\n")) return;
            }
            if (chunked) c.send("0\r\n\r\n");
            *sent_all = true;
        });
        fault_ferry f;
        ASSERT_TRUE(f.ferry.started()) << f.ferry.err();
        {
            auto s = tcp_stream::connect_to(f.ferry.port());
            ASSERT_TRUE(s.send_all(request("GET", "/big", origin)));
            auto head = s.read_until("\r\n\r\n", 5s);
            ASSERT_EQ(status_of(head), 200) << printable(head);
            EXPECT_EQ(s.read_exact(2 << 20, 5s).size(), std::size_t(2 << 20));
            reset_connection(s);
        }
        EXPECT_TRUE(origin.wait_closed(1, 5s)) << "the upstream connection was kept";
        EXPECT_FALSE(sent_all->load());
        f.expect_all_well();
    }
}

// ---------------------------------------------------------------------------------------
// A DNS server that never answers (status and timing: dns_test.cpp): the waiting exchange
// holds nothing once its 504 is out.

TEST(Faults, DnsTimeoutReleasesEverything) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    fault_ferry f({"--dns-server", dns.server_arg(), "--dns-timeout", "1"});
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();
    auto s = tcp_stream::connect_to(f.ferry.port());
    ASSERT_TRUE(s.send_all(
        "GET http://mute.ferry-test.example/ HTTP/1.1\r\nHost: mute.ferry-test.example\r\n\r\n"));
    auto r = s.read_response(5s);
    expect_ferry_error(r, 504);
    EXPECT_EQ(body_of(r), "ferry: timed out resolving mute.ferry-test.example\n");
    s.close();
    f.expect_all_well();
}

// ---------------------------------------------------------------------------------------
// An origin that accepts and never reads: the upload stops at what the socket buffers hold
// (ferry never takes more from the client than it can pass on), the upload is given up at
// the send timeout, and the answer is a 504 once the response timeout has passed too. ferry
// does not answer at the send timeout itself: an origin may stop reading a body it refuses
// and answer 413 a moment later (review_regressions_test.cpp,
// ReviewRegressions.OriginAnsweringWhileNotReadingTheBodyIsHeard). The origin sees the
// connection end although its receive window is full (ferry resets it: a FIN would wait
// behind the unsent body for ever).
TEST(Faults, OriginThatNeverReadsIsGivenUpWithoutBuffering) {
    auto ferry_left = std::make_shared<std::atomic<bool>>(false);
    test_origin origin([ferry_left](origin_connection& c) {
        *ferry_left = wait_peer_gone(c, 20s); // reads nothing at all
    });
    fault_ferry f({"--send-timeout", "1", "--response-timeout", "3"});
    ASSERT_TRUE(f.ferry.started()) << f.ferry.err();
    const long rss_before = rss_kib(f.ferry.pid());

    auto s = tcp_stream::connect_to(f.ferry.port());
    set_send_timeout(s, 15s);
    const std::size_t size = 256 << 20;
    std::atomic<std::size_t> uploaded{0};
    std::thread uploader([&] { upload(s, origin, "/never-read", size, 256 << 10, &uploaded); });
    const auto start = clock_type::now();
    auto r = s.read_response(15s);
    const auto took = clock_type::now() - start;
    const long rss_after = rss_kib(f.ferry.pid());
    s.shutdown_write();
    uploader.join();
    SCOPED_TRACE("uploaded " + std::to_string(uploaded.load()) + " bytes");
    expect_ferry_error(r, 504);
    EXPECT_EQ(header_value(head_of(r), "connection"), "close");
    EXPECT_GE(took, 2500ms);
    EXPECT_LT(took, 7s) << "ferry waited past the send and response timeouts";
    EXPECT_LT(uploaded.load(), std::size_t(64 << 20)) << "ferry took in the upload unboundedly";
    if (!built_with_asan()) {
        EXPECT_LT(rss_after - rss_before, 32 * 1024) << "KiB";
    }
    s.close();
    EXPECT_TRUE(wait_flag(*ferry_left, 5s)) << "ferry kept the connection to the origin";
    f.expect_all_well();
}

} // namespace
