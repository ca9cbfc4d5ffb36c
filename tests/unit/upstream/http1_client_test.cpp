// The upstream HTTP/1 client on an in-memory connection: the origin's end is scripted by
// writing to it, and what ferry sent is read back from it.
#include "upstream/http1_client.h"

#include "http/head_parser.h"
#include "net/memory_stream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace ferry::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct fixture {
    asio::io_context io;
    net::steady_time clock = std::chrono::steady_clock::now();
    net::deadline_list deadlines;
    std::unique_ptr<net::memory_stream> origin; // the peer's end
    std::unique_ptr<connection> conn;
    http::head_scanner scanner{8192, 8192, true};
    std::string head_bytes;
    http::response_head head;

    fixture() {
        auto [ours, theirs] = net::memory_stream::pair(io, clock, &deadlines);
        origin = std::move(theirs);
        conn = std::make_unique<connection>(std::move(ours));
        conn->label = "origin.test:80";
    }
    head_storage storage() { return {scanner, head_bytes, head}; }
    void settle() {
        for (int i = 0; i < 1000; ++i) {
            io.restart();
            if (io.poll() == 0) return;
        }
    }
    // Time passes as the worker's ticker sees it.
    void pass(std::chrono::milliseconds by) {
        for (auto t = 0ms; t < by; t += 200ms) {
            clock += 200ms;
            deadlines.expire_passed(clock);
            settle();
        }
    }
    void origin_sends(std::string_view bytes) {
        asio::co_spawn(
            io,
            [this, b = std::string(bytes)]() -> asio::awaitable<void> {
                co_await origin->write(asio::buffer(b), 1s);
            },
            asio::detached);
        settle();
    }
    // Starts reading a response head; `done` turns true with the result in `out`.
    void read_head(head_result& out, bool& done, std::chrono::milliseconds timeout = 5s) {
        asio::co_spawn(
            io,
            [this, &out, &done, timeout]() -> asio::awaitable<void> {
                const auto read = co_await read_response_head(*conn, scanner, 8192, timeout);
                out = take_response_head(*conn, storage(), read, timeout);
                done = true;
            },
            asio::detached);
        settle();
    }
};

// `text` outlives the target, which points into it (the tests pass literals).
http::target target_of(std::string_view text) {
    http::target t;
    EXPECT_EQ(http::parse_request_target("GET", text, "", t), http::target_error::none);
    return t;
}

http::target authority_of(std::string_view text) {
    http::target t;
    EXPECT_EQ(http::parse_authority(text, 443, t.where), http::target_error::none);
    return t;
}

TEST(Http1Client, ReadsAResponseHeadAndLeavesTheBodyInTheBuffer) {
    fixture f;
    head_result r;
    bool done = false;
    f.read_head(r, done);
    EXPECT_FALSE(done);
    f.origin_sends("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(done);
    EXPECT_FALSE(r.problem) << r.problem.cause;
    EXPECT_EQ(f.head.status, 200);
    EXPECT_EQ(http::find_field(f.head, "content-length"), "5");
    EXPECT_EQ(f.conn->buffer.data(), "hello");
}

TEST(Http1Client, AConnectionClosedBeforeAnyByteMayBeRetried) {
    fixture f;
    head_result r;
    bool done = false;
    f.read_head(r, done);
    f.origin->close();
    f.settle();
    ASSERT_TRUE(done);
    EXPECT_EQ(r.problem.code, core::errc::upstream_closed);
    EXPECT_TRUE(r.nothing_received);
    EXPECT_EQ(r.problem.cause, "ferry: origin.test:80 closed the connection without a response");
}

TEST(Http1Client, AHeadCutShortIsNotRetried) {
    fixture f;
    head_result r;
    bool done = false;
    f.read_head(r, done);
    f.origin_sends("HTTP/1.1 200 OK\r\nContent-");
    f.origin->close();
    f.settle();
    ASSERT_TRUE(done);
    EXPECT_EQ(r.problem.code, core::errc::upstream_closed);
    EXPECT_FALSE(r.nothing_received);
    EXPECT_NE(r.problem.cause.find("in the middle of the response head"), std::string::npos);
}

TEST(Http1Client, ASilentOriginTimesOut) {
    fixture f;
    head_result r;
    bool done = false;
    f.read_head(r, done, 1s);
    f.pass(800ms);
    EXPECT_FALSE(done);
    f.pass(600ms);
    ASSERT_TRUE(done);
    EXPECT_EQ(r.problem.code, core::errc::response_timeout);
    EXPECT_EQ(r.problem.cause, "ferry: no response from origin.test:80 within 1s");
}

TEST(Http1Client, MalformedAndInvalidHeadsAreBadResponses) {
    {
        fixture f;
        head_result r;
        bool done = false;
        f.read_head(r, done);
        f.origin_sends("HTTP/1.1 200 OK\nContent-Length: 0\n\n");
        ASSERT_TRUE(done);
        EXPECT_EQ(r.problem.code, core::errc::bad_response);
        EXPECT_NE(r.problem.cause.find("line not ended by CRLF"), std::string::npos);
    }
    {
        fixture f;
        head_result r;
        bool done = false;
        f.read_head(r, done);
        f.origin_sends("HTTP/1.1 2000 Way OK\r\n\r\n");
        ASSERT_TRUE(done);
        EXPECT_EQ(r.problem.code, core::errc::bad_response);
        EXPECT_NE(r.problem.cause.find("ferry: invalid response from origin.test:80"),
                  std::string::npos);
    }
}

TEST(Http1Client, SendsAHeadAndSaysWhenItCannot) {
    fixture f;
    send_result sent;
    bool done = false;
    auto send = [&] {
        done = false;
        asio::co_spawn(
            f.io,
            [&]() -> asio::awaitable<void> {
                const auto ec =
                    co_await send_head(*f.conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1s);
                sent = send_outcome(*f.conn, ec);
                done = true;
            },
            asio::detached);
        f.settle();
    };
    send();
    ASSERT_TRUE(done);
    EXPECT_FALSE(sent.problem);
    EXPECT_EQ(f.origin->take_received(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

    f.origin->abort();
    send();
    ASSERT_TRUE(done);
    EXPECT_EQ(sent.problem.code, core::errc::upstream_closed);
    EXPECT_TRUE(sent.retryable);
    EXPECT_NE(sent.problem.cause.find("cannot send the request to origin.test:80"),
              std::string::npos);
}

TEST(Http1Client, WritesOriginFormToAnOriginAndAbsoluteFormWithCredentialsToAParent) {
    http::request_head req;
    std::string bytes = "GET http://example.test/a?b HTTP/1.1\r\nHost: example.test\r\n"
                        "Proxy-Authorization: Basic dXNlcjpwdw==\r\n\r\n";
    ASSERT_EQ(http::parse_request_head(bytes, 8192, req), http::parse_error::none);
    const auto dest = target_of("http://example.test/a?b");
    route origin;
    origin.host = "example.test";
    origin.port = 80;
    std::string out;
    write_request_head(origin, req, dest, {}, http::request_options("ferry"), "Basic cGFyZW50",
                       out);
    EXPECT_EQ(out.rfind("GET /a?b HTTP/1.1\r\n", 0), 0u) << out;
    EXPECT_EQ(out.find("Proxy-Authorization"), std::string::npos) << out;

    route parent = origin;
    parent.parent = true;
    out.clear();
    write_request_head(parent, req, dest, {}, http::request_options("ferry"), "Basic cGFyZW50",
                       out);
    EXPECT_EQ(out.rfind("GET http://example.test/a?b HTTP/1.1\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Proxy-Authorization: Basic cGFyZW50\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("dXNlcjpwdw=="), std::string::npos) << out; // the client's stays here
}

// CONNECT through a parent: what it sends, and each answer it can get.
struct tunnel_case {
    fixture f;
    http::request_head client; // the client's CONNECT: no fields
    core::error result;
    bool done = false;
    std::string scratch;
    void start() {
        asio::co_spawn(
            f.io,
            [this]() -> asio::awaitable<void> {
                const auto dest = authority_of("origin.test:443");
                const tunnel_request connect{client, dest, "Basic cGFyZW50", {}};
                result =
                    co_await open_tunnel(*f.conn, connect, scratch, f.storage(), 8192, {1s, 2s});
                done = true;
            },
            asio::detached);
        f.settle();
    }
};

TEST(Http1Client, OpensATunnelThroughAParentAndKeepsTheBytesAfterItsAnswer) {
    tunnel_case t;
    t.start();
    EXPECT_EQ(t.f.origin->take_received(), "CONNECT origin.test:443 HTTP/1.1\r\n"
                                           "Host: origin.test:443\r\n"
                                           "Proxy-Authorization: Basic cGFyZW50\r\n\r\n");
    EXPECT_FALSE(t.done);
    t.f.origin_sends("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01");
    ASSERT_TRUE(t.done);
    EXPECT_FALSE(t.result) << t.result.cause;
    EXPECT_EQ(t.f.conn->buffer.data(), "\x16\x03\x01");
}

TEST(Http1Client, AParentThatRefusesClosesOrStallsIsNamed) {
    {
        tunnel_case t;
        t.start();
        t.f.origin_sends("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        ASSERT_TRUE(t.done);
        EXPECT_EQ(t.result.code, core::errc::bad_response);
        EXPECT_EQ(
            t.result.cause,
            "ferry: origin.test:80 refused CONNECT to origin.test:443: HTTP/1.1 403 Forbidden");
    }
    {
        tunnel_case t;
        t.start();
        t.f.origin->close();
        t.f.settle();
        ASSERT_TRUE(t.done);
        EXPECT_EQ(t.result.code, core::errc::upstream_closed);
    }
    {
        tunnel_case t;
        t.start();
        t.f.pass(2400ms);
        ASSERT_TRUE(t.done);
        EXPECT_EQ(t.result.code, core::errc::response_timeout);
        EXPECT_EQ(t.result.cause, "ferry: no answer to CONNECT from origin.test:80");
    }
}

} // namespace
} // namespace ferry::upstream
