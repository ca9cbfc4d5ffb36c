// Every wait has a deadline (DESIGN.md, "Concurrency and flow control"): a client too slow
// with its head gets 408 and is closed, even if it keeps dribbling bytes (slowloris); idle
// and stalled connections are closed; an origin that stays silent gets the client a 504, and
// one that stalls mid-body gets the client connection closed mid-message. Timeouts are set
// to 1 s so the suite stays fast; ferry checks its deadlines every 200 ms, so every bound
// below allows for that.
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

using namespace ferry_test;
using namespace std::literals;

namespace {

using clock_type = std::chrono::steady_clock;

std::chrono::milliseconds since(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

std::string get_request(std::string_view path, const test_origin& origin,
                        std::string_view extra = {}) {
    return "GET " + origin.url(path) + " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n" +
           std::string(extra) + "\r\n";
}

// One line of text naming the cause, in a response that closes the connection.
void expect_ferry_error(std::string_view response, int status) {
    EXPECT_EQ(status_of(response), status) << printable(response);
    auto body = body_of(response);
    EXPECT_TRUE(body.starts_with("ferry: ")) << printable(response);
    EXPECT_TRUE(body.ends_with("\n")) << printable(response);
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << printable(response);
    EXPECT_EQ(header_value(head_of(response), "connection"), "close") << printable(response);
}

// A fresh client's plain GET through the same ferry still works.
void expect_still_serving(const ferry_process& ferry) {
    test_origin origin;
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok()) << "ferry no longer accepts connections; its stderr: " << tail(ferry.err());
    ASSERT_TRUE(s.send_all(get_request("/", origin)));
    auto r = s.read_response(3s);
    EXPECT_EQ(status_of(r), 200) << printable(r) << "\nferry's stderr: " << tail(ferry.err());
    EXPECT_EQ(body_of(r), "hello\n");
}

// An origin that records everything until ferry closes, and never answers.
test_origin::handler silent_origin() {
    return [](origin_connection& c) { c.received += c.stream.read_until_close(10s); };
}

// ---------------------------------------------------------------------------------------
// Request heads (408, --header-timeout).

struct slow_head_case {
    std::string name;
    std::string first_bytes; // sent at once; "{A}" is the origin's authority
    std::string dribble;     // then one byte of this every 100 ms, cycling, until answered
    bool after_exchange;     // on a keep-alive connection, after one complete exchange
};

void PrintTo(const slow_head_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<slow_head_case> slow_head_cases() {
    return {
        {"RequestLineOnly", "GET http://{A}/ HTTP/1.1\r\n", "", false},
        {"PartOfRequestLine", "GET http://{A}/pa", "", false},
        {"HeadWithoutFinalEmptyLine", "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n", "", false},
        {"SlowlorisHeaderLines", "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n", "X-a: b\r\n", false},
        {"SlowlorisOneLongLine", "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\nX-Long: ", "a", false},
        {"SecondRequestHeadStalls", "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n", "", true},
        {"SecondRequestSlowloris", "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n", "X-a: b\r\n", true},
    };
}

class TimeoutsRequestHead : public ::testing::TestWithParam<slow_head_case> {};

TEST_P(TimeoutsRequestHead, RequestTimeoutThenClose) {
    const auto& c = GetParam();
    test_origin origin;
    ferry_process ferry({"--header-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    if (c.after_exchange) {
        ASSERT_TRUE(s.send_all(get_request("/", origin)));
        auto r = s.read_response(3s);
        ASSERT_EQ(status_of(r), 200) << printable(r);
    }
    std::string first = c.first_bytes;
    for (auto at = first.find("{A}"); at != std::string::npos; at = first.find("{A}"))
        first.replace(at, 3, origin.authority());

    const auto start = clock_type::now();
    ASSERT_TRUE(s.send_all(first));
    std::string response;
    for (std::size_t i = 0; since(start) < 4s; ++i) {
        if (!c.dribble.empty() && !s.send_all(c.dribble.substr(i % c.dribble.size(), 1))) break;
        response += s.read_until("\r\n\r\n", 100ms);
        if (response.find("\r\n\r\n") != std::string::npos) break;
    }
    const auto took = since(start);     // until the 408's head, or the close
    response += s.read_until_close(1s); // the rest of the 408 and the close
    SCOPED_TRACE("after " + std::to_string(took.count()) + " ms: " + printable(response));
    expect_ferry_error(response, 408);
    EXPECT_TRUE(s.peer_closed(500ms)) << "the connection was left open after the 408";
    EXPECT_GE(took, 700ms) << "answered before the header timeout";
    EXPECT_LE(took, 2500ms) << "the header timeout was extended by the dribbled bytes";
    EXPECT_EQ(origin.connections(), c.after_exchange ? 1 : 0);
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, TimeoutsRequestHead, ::testing::ValuesIn(slow_head_cases()),
                         [](const auto& info) { return info.param.name; });

// A connection on which nothing at all arrives is closed quietly: there is no request to
// answer (docs/architecture.md, "One exchange").
TEST(Timeouts, SilentNewConnectionClosedQuietly) {
    ferry_process ferry({"--header-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const auto start = clock_type::now();
    auto got = s.read_until_close(4s);
    const auto took = since(start);
    EXPECT_EQ(got, "") << printable(got);
    EXPECT_TRUE(s.peer_closed(100ms)) << "still open after " << took.count() << " ms";
    EXPECT_GE(took, 700ms);
    EXPECT_LE(took, 2500ms);
    expect_still_serving(ferry);
}

// An idle keep-alive connection is closed quietly after --idle-timeout, and (without a
// pool to keep it) its upstream connection with it.
TEST(Timeouts, IdleKeepAliveConnectionClosedQuietly) {
    test_origin origin;
    ferry_process ferry({"--idle-timeout", "1", "--pool-per-host", "0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/", origin)));
    auto r = s.read_response(3s);
    ASSERT_EQ(status_of(r), 200) << printable(r);
    const auto start = clock_type::now();
    auto got = s.read_until_close(4s);
    const auto took = since(start);
    EXPECT_EQ(got, "") << printable(got);
    EXPECT_TRUE(s.peer_closed(100ms)) << "still open after " << took.count() << " ms";
    EXPECT_GE(took, 700ms);
    EXPECT_LE(took, 2500ms);
    EXPECT_TRUE(origin.wait_closed(1, 1s)) << "the upstream connection outlived its client";
    expect_still_serving(ferry);
}

// ---------------------------------------------------------------------------------------
// Request bodies: a client that stalls mid-body is cut off; the origin never sees a
// complete request and its connection is closed too.

TEST(Timeouts, ClientStallingMidBodyIsClosed) {
    struct stall {
        const char* name;
        std::string framing;
        std::string partial_body;
    };
    const std::vector<stall> stalls = {
        {"ContentLength", "Content-Length: 10\r\n", "hello"},
        {"Chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n"},
        {"ChunkedMidSizeLine", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n1"},
    };
    for (const auto& st : stalls) {
        SCOPED_TRACE(st.name);
        test_origin origin(silent_origin());
        ferry_process ferry({"--idle-timeout", "1", "--header-timeout", "1"});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        const auto start = clock_type::now();
        ASSERT_TRUE(s.send_all("POST " + origin.url("/echo") +
                               " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n" + st.framing +
                               "\r\n" + st.partial_body));
        auto got = s.read_until_close(5s);
        const auto took = since(start);
        SCOPED_TRACE("after " + std::to_string(took.count()) + " ms: " + printable(got));
        EXPECT_TRUE(s.peer_closed(100ms)) << "the stalled client was never cut off";
        EXPECT_NE(status_of(got), 200);
        EXPECT_LE(took, 3500ms);
        EXPECT_TRUE(origin.wait_closed(1, 2s)) << "the upstream connection was left open";
        const auto seen = origin.received();
        EXPECT_EQ(seen.find("0\r\n\r\n"), std::string::npos) << printable(seen);
        EXPECT_LE(seen.size() - std::min(seen.size(), seen.find("\r\n\r\n") + 4),
                  st.partial_body.size() + 8)
            << printable(seen);
        expect_still_serving(ferry);
    }
}

// ---------------------------------------------------------------------------------------
// Responses (--response-timeout): silence before the head is a 504; a stall after the head
// closes the client connection mid-message.

TEST(Timeouts, SilentOriginIsGatewayTimeout) {
    test_origin origin(silent_origin());
    ferry_process ferry({"--response-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const auto start = clock_type::now();
    ASSERT_TRUE(s.send_all(get_request("/", origin)));
    auto r = s.read_response(4s);
    const auto took = since(start);
    SCOPED_TRACE("after " + std::to_string(took.count()) + " ms");
    EXPECT_EQ(status_of(r), 504) << printable(r);
    auto body = body_of(r);
    EXPECT_TRUE(body.starts_with("ferry: ")) << printable(r);
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << printable(r);
    EXPECT_GE(took, 700ms);
    EXPECT_LE(took, 2500ms);
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "the silent upstream connection was kept";
    expect_still_serving(ferry);
}

TEST(Timeouts, OriginSilentAfterPartOfHeadIsGatewayTimeout) {
    test_origin origin([](origin_connection& c) {
        c.read_head(5s);
        c.send("HTTP/1.1 200 OK\r\nContent-Le");
        c.received += c.stream.read_until_close(10s);
    });
    ferry_process ferry({"--response-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/", origin)));
    auto r = s.read_response(4s);
    EXPECT_EQ(status_of(r), 504) << printable(r);
    EXPECT_TRUE(body_of(r).starts_with("ferry: ")) << printable(r);
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "the stalled upstream connection was kept";
    expect_still_serving(ferry);
}

TEST(Timeouts, OriginStallingMidBodyClosesClientMidMessage) {
    struct stall {
        const char* name;
        std::string sent;
        bool chunked;
    };
    const std::vector<stall> stalls = {
        {"ContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", false},
        {"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", true},
    };
    for (const auto& st : stalls) {
        SCOPED_TRACE(st.name);
        test_origin origin([&st](origin_connection& c) {
            c.read_head(5s);
            c.send(st.sent);
            c.received += c.stream.read_until_close(10s); // stalls, connection open
        });
        ferry_process ferry({"--response-timeout", "1"});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        const auto start = clock_type::now();
        ASSERT_TRUE(s.send_all(get_request("/", origin)));
        auto got = s.read_until_close(5s);
        const auto took = since(start);
        SCOPED_TRACE("after " + std::to_string(took.count()) + " ms: " + printable(got));
        EXPECT_TRUE(s.peer_closed(100ms)) << "the client connection was left open";
        EXPECT_EQ(status_of(got), 200);
        EXPECT_GE(took, 700ms);
        EXPECT_LE(took, 2500ms);
        const auto body = body_of(got);
        if (st.chunked) {
            EXPECT_FALSE(body.ends_with("0\r\n\r\n")) << "a terminating 0-chunk was sent";
            EXPECT_TRUE(body.find("hello") != std::string_view::npos);
        } else {
            EXPECT_EQ(body, "hello");
        }
        EXPECT_TRUE(origin.wait_closed(1, 2s)) << "the stalled upstream connection was kept";
        expect_still_serving(ferry);
    }
}

} // namespace
