// Malformed, ambiguous, cut-short and surprising responses from a scripted origin, relayed
// through the real binary to a raw client (RFC 9112 §4-§7, §9; RFC 9110 §7.6, §15.2; the
// response-side bug classes in ANCHORS.md, "Security anchors"). ferry answers 502 while no
// byte of the response has gone out, never passes a cut-short response off as complete,
// never reuses an upstream connection it cannot trust, and never turns a 200 into a tunnel.
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

constexpr auto reply_timeout = 3s;

// How many field lines of a raw head carry this name (case-insensitive).
int count_fields(std::string_view head, std::string_view name) {
    int n = 0;
    for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
        auto start = pos + 2;
        auto end = head.find("\r\n", start);
        if (end == std::string_view::npos || end == start) break;
        auto line = head.substr(start, end - start);
        if (line.size() > name.size() && line[name.size()] == ':' &&
            iequal(line.substr(0, name.size()), name))
            ++n;
        pos = end;
    }
    return n;
}

// The body of one raw response, decoded when chunked.
std::string decoded_body(std::string_view response) {
    auto body = body_of(response);
    if (header_value(head_of(response), "transfer-encoding") != "chunked") return std::string(body);
    std::string out;
    if (!dechunk(body, out)) return "<bad chunked body: " + printable(body) + ">";
    return out;
}

// One line of text naming the cause. `closing`: the response must also announce the close.
void expect_ferry_error(std::string_view response, int status, bool closing) {
    EXPECT_EQ(status_of(response), status) << printable(response);
    auto body = body_of(response);
    EXPECT_TRUE(body.starts_with("ferry: ")) << printable(response);
    EXPECT_TRUE(body.ends_with("\n")) << printable(response);
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << printable(response);
    if (closing) {
        EXPECT_EQ(header_value(head_of(response), "connection"), "close") << printable(response);
    }
}

const std::string good_response = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

std::string get_request(std::string_view path, const test_origin& origin,
                        std::string_view extra = {}, std::string_view method = "GET",
                        std::string_view version = "HTTP/1.1") {
    return std::string(method) + " " + origin.url(path) + " " + std::string(version) +
           "\r\nHost: " + origin.authority() + "\r\n" + std::string(extra) + "\r\n";
}

// A fresh client's plain GET through the same ferry still works.
void expect_still_serving(const ferry_process& ferry) {
    test_origin origin;
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok()) << "ferry no longer accepts connections; its stderr: " << tail(ferry.err());
    ASSERT_TRUE(s.send_all(get_request("/", origin)));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r) << "\nferry's stderr: " << tail(ferry.err());
    EXPECT_EQ(body_of(r), "hello\n");
}

// What the scripted origin does for "/bad": send these pieces, each after its delay, then
// close or wait for the next request. Every other path gets `good_response`.
struct piece {
    std::string bytes;
    std::chrono::milliseconds delay{0};
};

struct script {
    std::vector<piece> pieces;
    bool close_after = false;
};

test_origin::handler scripted(script s) {
    return [s](origin_connection& c) {
        for (;;) {
            auto head = c.read_head(5s);
            if (head.empty()) return; // ferry closed (or stayed silent for 5 s)
            auto sp = head.find(' ');
            const bool bad = head.compare(sp + 1, 4, "/bad") == 0;
            if (!bad) {
                if (!c.send(good_response)) return;
                continue;
            }
            for (const auto& p : s.pieces) {
                std::this_thread::sleep_for(p.delay);
                if (!c.send(p.bytes)) return;
            }
            if (s.close_after) return;
        }
    };
}

// ---------------------------------------------------------------------------------------
// Responses ferry cannot relay: 502 before any byte goes out, upstream connection discarded.

struct bad_gateway_case {
    std::string name;
    std::string response;
};

void PrintTo(const bad_gateway_case& c, std::ostream* os) {
    *os << c.name;
}

const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string chunked_hello = "6\r\nhello\n\r\n0\r\n\r\n";

std::vector<bad_gateway_case> bad_gateway_cases() {
    const std::string ok = "HTTP/1.1 200 OK\r\n";
    return {
        // Framing (RFC 9112 §6.1, §6.3).
        {"ContentLengthWithTransferEncoding",
         ok + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello},
        {"TransferEncodingWithContentLength",
         ok + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n" + chunked_hello},
        {"DifferingContentLengthFields",
         ok + "Content-Length: 6\r\nContent-Length: 7\r\n\r\nhello\n!"},
        {"DifferingContentLengthList", ok + "Content-Length: 6, 7\r\n\r\nhello\n!"},
        {"EmptyContentLength", ok + "Content-Length: \r\n\r\nhello\n"},
        {"ContentLengthPlusSign", ok + "Content-Length: +6\r\n\r\nhello\n"},
        {"ContentLengthNegative", ok + "Content-Length: -6\r\n\r\nhello\n"},
        {"ContentLengthNonDigit", ok + "Content-Length: 6a\r\n\r\nhello\n"},
        {"ContentLengthTwentyDigits", ok + "Content-Length: 18446744073709551622\r\n\r\nhello\n"},
        {"TransferEncodingInHttp10",
         "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello},
        // Field syntax (RFC 9112 §5.1, §5.2, §2.2).
        {"ObsFold", ok + "X-A: a\r\n b\r\nContent-Length: 6\r\n\r\nhello\n"},
        {"ObsFoldContinuingContentLength", ok + "Content-Length: 6\r\n 7\r\n\r\nhello\n!"},
        {"BareLfLineEnds", "HTTP/1.1 200 OK\nContent-Length: 6\n\nhello\n"},
        {"BareLfInOneLine", ok + "X-A: a\nContent-Length: 6\r\n\r\nhello\n"},
        {"BareCrInValue", ok + "X-A: a\rb\r\nContent-Length: 6\r\n\r\nhello\n"},
        {"NulInValue", ok + "X-A: a\0b\r\nContent-Length: 6\r\n\r\nhello\n"s},
        {"SpaceBeforeColonContentLength", ok + "Content-Length : 6\r\n\r\nhello\n"},
        {"SpaceBeforeColonTransferEncoding",
         ok + "Transfer-Encoding : chunked\r\n\r\n" + chunked_hello},
        {"EmptyHeaderName", ok + ": x\r\nContent-Length: 6\r\n\r\nhello\n"},
        // Status line (RFC 9112 §4).
        {"StatusCodeNotDigits", "HTTP/1.1 abc OK\r\nContent-Length: 6\r\n\r\nhello\n"},
        {"StatusCodeFourDigits", "HTTP/1.1 2000 OK\r\nContent-Length: 6\r\n\r\nhello\n"},
        {"NotHttp", "hello world\r\n\r\n"},
        {"Http2Version", "HTTP/2.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"},
        // Upgrade was not forwarded, so a switch is not expected (RFC 9110 §7.8).
        {"Unexpected101",
         "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
        {"HeadOverLimit",
         ok + "X-Big: " + std::string(70000, 'a') + "\r\nContent-Length: 6\r\n\r\nhello\n"},
        // Bad chunks in the same packet as the head: nothing has gone out yet either.
        {"ChunkSizeNotHex", chunked_head + "zz\r\nhello\n\r\n0\r\n\r\n"},
        {"ChunkSize16HexDigits", chunked_head + "7fffffffffffffff\r\nhello\n\r\n0\r\n\r\n"},
        {"ChunkSize20HexDigitsWrappingTo6",
         chunked_head + "10000000000000000006\r\nhello\n\r\n0\r\n\r\n"},
        {"ChunkLineBareLf", chunked_head + "6\nhello\n\r\n0\r\n\r\n"},
        {"MissingCrlfAfterData", chunked_head + "6\r\nhello\nX\r\n0\r\n\r\n"},
        {"ChunkExtension64KiB",
         chunked_head + "6;" + std::string(65536, 'a') + "\r\nhello\n\r\n0\r\n\r\n"},
    };
}

class MalformedResponseHead : public ::testing::TestWithParam<bad_gateway_case> {};

TEST_P(MalformedResponseHead, BadGatewayAndUpstreamDiscarded) {
    const auto& c = GetParam();
    test_origin origin(scripted({{{c.response}}}));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    SCOPED_TRACE("origin sent: " + printable(c.response, 300));

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin)));
    auto r = s.read_response(reply_timeout);
    const bool client_closed = s.peer_closed(300ms);
    expect_ferry_error(r, 502, client_closed);
    // The origin keeps its side open: only ferry can end this connection.
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "ferry kept the upstream connection";
    if (!client_closed) {
        // The client connection goes on: its next request needs a new origin connection.
        ASSERT_TRUE(s.send_all(get_request("/good", origin)));
        auto again = s.read_response(reply_timeout);
        EXPECT_EQ(status_of(again), 200) << printable(again);
        EXPECT_EQ(body_of(again), "hello\n");
        EXPECT_EQ(origin.connections(), 2);
    }
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedResponseHead, ::testing::ValuesIn(bad_gateway_cases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// Cut short after the head went out: the client connection is closed without a complete
// message; a chunked response never gets its terminating 0-chunk (RFC 9112 §8).

struct cut_case {
    std::string name;
    script origin_script;
};

void PrintTo(const cut_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<cut_case> cut_cases() {
    const std::string cl10 = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    const auto at_once = [](std::string bytes) { return script{{{std::move(bytes)}}, true}; };
    // The head and a first chunk, then (once the client has seen them) a bad chunk; the
    // origin keeps the connection open.
    const auto bad_later = [&](std::string bad) {
        return script{{{chunked_head + "6\r\nhello\n\r\n"}, {std::move(bad), 150ms}}, false};
    };
    return {
        {"ContentLengthNotReached", at_once(cl10 + "hello")},
        {"ContentLengthNotReachedLater", script{{{cl10 + "hello"}, {"he", 150ms}}, true}},
        {"ChunkedWithoutLastChunk", at_once(chunked_head + "6\r\nhello\n\r\n")},
        {"ChunkedWithoutLastChunkLater",
         script{{{chunked_head + "6\r\nhello\n\r\n"}, {"3\r\nabc\r\n", 150ms}}, true}},
        {"ChunkedCutMidChunk", at_once(chunked_head + "6\r\nhel")},
        {"ChunkedCutInSizeLine", at_once(chunked_head + "6\r\nhello\n\r\n1")},
        {"ChunkedCutBeforeFinalCrlf", at_once(chunked_head + "6\r\nhello\n\r\n0\r\n")},
        {"ChunkedCutInTrailers", at_once(chunked_head + "6\r\nhello\n\r\n0\r\nX-T: 1\r\n")},
        {"BadChunkSizeMidBody", bad_later("zz\r\nmore\r\n0\r\n\r\n")},
        {"ChunkSize20HexDigitsMidBody", bad_later("10000000000000000004\r\nmore\r\n0\r\n\r\n")},
        {"ChunkDataOverrunMidBody", bad_later("3\r\nmore\r\n0\r\n\r\n")},
        {"ChunkLineBareLfMidBody", bad_later("4\nmore\r\n0\r\n\r\n")},
        {"ChunkExtension64KiBMidBody",
         bad_later("4;" + std::string(65536, 'a') + "\r\nmore\r\n0\r\n\r\n")},
    };
}

class MalformedResponseCutShort : public ::testing::TestWithParam<cut_case> {};

TEST_P(MalformedResponseCutShort, ClientConnectionClosedWithoutCompleteMessage) {
    const auto& c = GetParam();
    test_origin origin(scripted(c.origin_script));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin)));
    auto got = s.read_until_close(reply_timeout);
    SCOPED_TRACE("client read: " + printable(got));
    EXPECT_TRUE(s.peer_closed(100ms)) << "the client connection was left open";
    ASSERT_EQ(status_of(got), 200) << "the head should have been relayed";
    const auto head = head_of(got);
    const auto body = body_of(got);
    if (auto cl = header_value(head, "content-length"); !cl.empty()) {
        EXPECT_LT(body.size(), std::stoull(cl)) << "the body looks complete";
    } else {
        EXPECT_EQ(header_value(head, "transfer-encoding"), "chunked");
        EXPECT_EQ(chunked_length(body), std::string_view::npos) << "the body looks complete";
        EXPECT_FALSE(body.ends_with("0\r\n\r\n")) << "a terminating 0-chunk was sent";
    }
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "ferry kept the upstream connection";
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedResponseCutShort, ::testing::ValuesIn(cut_cases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------
// Bytes after a complete response: the response is relayed, the junk never is, and that
// upstream connection is not used again (RFC 9112 §9.3; response smuggling).

struct trailing_case {
    std::string name;
    script origin_script;
    int status;
    std::string body;
    std::string method = "GET";
};

void PrintTo(const trailing_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<trailing_case> trailing_cases() {
    const std::string evil = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!";
    const auto at_once = [](std::string bytes) { return script{{{std::move(bytes)}}, false}; };
    return {
        {"JunkAfterContentLengthBody", at_once(good_response + "EXTRA"), 200, "hello\n"},
        {"ResponseAfterContentLengthBody", at_once(good_response + evil), 200, "hello\n"},
        {"ResponseAfterChunkedBody", at_once(chunked_head + chunked_hello + evil), 200, "hello\n"},
        {"ResponseAfterBodyLater", script{{{good_response}, {evil, 100ms}}, false}, 200, "hello\n"},
        {"BodyAfterNoContent", at_once("HTTP/1.1 204 No Content\r\n\r\n" + evil), 204, ""},
        {"BodyAfterNotModified",
         at_once("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nevil!"), 304, ""},
        {"BodyAfterHeadResponse",
         at_once("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!" + evil), 200, "", "HEAD"},
    };
}

class MalformedResponseTrailingBytes : public ::testing::TestWithParam<trailing_case> {};

TEST_P(MalformedResponseTrailingBytes, RelayedOnceAndUpstreamNotReused) {
    const auto& c = GetParam();
    test_origin origin(scripted(c.origin_script));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin, {}, c.method)));
    auto first = s.read_response(reply_timeout, c.method == "HEAD");
    EXPECT_EQ(status_of(first), c.status) << printable(first);
    EXPECT_EQ(decoded_body(first), c.body) << printable(first);
    std::this_thread::sleep_for(300ms); // the late junk has arrived at ferry by now

    // Closing the client connection too would be allowed, if wasteful: then the next request
    // comes on a new one, and the origin's connection count still tells.
    if (s.peer_closed(50ms)) s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/good", origin)));
    auto second = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(second), 200) << printable(second);
    EXPECT_EQ(body_of(second), "hello\n") << printable(second);
    EXPECT_EQ(origin.connections(), 2) << "the upstream connection with junk was reused";
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "ferry kept the upstream connection with junk";
    EXPECT_EQ(s.read_until_close(200ms), "") << "more bytes reached the client";
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedResponseTrailingBytes, ::testing::ValuesIn(trailing_cases()),
                         [](const auto& info) { return info.param.name; });

// The counting above means something: a clean response leaves the upstream connection for
// the next request of the same client.
TEST(MalformedResponseControl, CleanResponseKeepsUpstreamForNextRequest) {
    test_origin origin(scripted({}));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(s.send_all(get_request("/good", origin)));
        auto r = s.read_response(reply_timeout);
        EXPECT_EQ(status_of(r), 200) << printable(r);
        EXPECT_EQ(body_of(r), "hello\n");
    }
    EXPECT_EQ(origin.connections(), 1);
}

// ---------------------------------------------------------------------------------------
// Interim responses (RFC 9110 §15.2): forwarded to HTTP/1.1 clients, in order, then the
// final one; dropped for HTTP/1.0 clients.

TEST(MalformedResponseInterim, SeveralInterimResponsesThenFinal) {
    const std::string interim[] = {
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 102 Processing\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
    };
    const std::string all = interim[0] + interim[1] + interim[2] + good_response;
    const script in_pieces{
        {{interim[0]}, {interim[1], 50ms}, {interim[2], 50ms}, {good_response, 50ms}}};
    for (const auto& [name, sc] :
         {std::pair{"one packet", script{{{all}}}}, std::pair{"in pieces", in_pieces}}) {
        SCOPED_TRACE(name);
        test_origin origin(scripted(sc));
        ferry_process ferry;
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(get_request("/bad", origin)));
        auto r = s.read_response(reply_timeout);
        SCOPED_TRACE("client read: " + printable(r));
        auto p100 = r.find("HTTP/1.1 100 ");
        auto p102 = r.find("HTTP/1.1 102 ");
        auto p103 = r.find("HTTP/1.1 103 ");
        auto p200 = r.find("HTTP/1.1 200 ");
        EXPECT_EQ(p100, 0u);
        EXPECT_NE(p102, std::string::npos);
        EXPECT_NE(p103, std::string::npos);
        ASSERT_NE(p200, std::string::npos);
        EXPECT_TRUE(p100 < p102 && p102 < p103 && p103 < p200);
        EXPECT_NE(r.find("Link: </style.css>; rel=preload\r\n", p103), std::string::npos);
        EXPECT_EQ(body_of(std::string_view(r).substr(p200)), "hello\n");
        // The exchange is over and clean: the client connection goes on.
        ASSERT_TRUE(s.send_all(get_request("/good", origin)));
        auto again = s.read_response(reply_timeout);
        EXPECT_EQ(status_of(again), 200) << printable(again);
        expect_still_serving(ferry);
    }
}

TEST(MalformedResponseInterim, UnsolicitedContinueToGet) {
    test_origin origin(scripted({{{"HTTP/1.1 100 Continue\r\n\r\n" + good_response}}}));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin)));
    auto r = s.read_response(reply_timeout);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 100 ")) << printable(r);
    auto p200 = r.find("HTTP/1.1 200 ");
    ASSERT_NE(p200, std::string::npos) << printable(r);
    EXPECT_EQ(body_of(std::string_view(r).substr(p200)), "hello\n");
    ASSERT_TRUE(s.send_all(get_request("/good", origin)));
    EXPECT_EQ(status_of(s.read_response(reply_timeout)), 200);
    expect_still_serving(ferry);
}

TEST(MalformedResponseInterim, DroppedForHttp10Client) {
    test_origin origin(scripted({{{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                                   "Link: </a>\r\n\r\n" +
                                   good_response}}}));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin, {}, "GET", "HTTP/1.0")));
    auto r = s.read_until_close(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(r.find(" 100 "), std::string::npos) << printable(r);
    EXPECT_EQ(r.find(" 103 "), std::string::npos) << printable(r);
    EXPECT_EQ(body_of(r), "hello\n");
    expect_still_serving(ferry);
}

// ---------------------------------------------------------------------------------------
// Upgrade offers are forwarded, but only an offered 101 turns the connection into a tunnel:
// a 200 never does (upgrade_test.cpp has the switches that succeed).

const std::string upgrade_fields =
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
// A masked WebSocket text frame ("Hello"): not HTTP.
const std::string websocket_frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

TEST(MalformedResponseUpgrade, TwoHundredToUpgradeRequestIsNoTunnel) {
    test_origin origin(scripted({{{good_response}}}));
    ferry_process ferry({"--pool-per-host", "0"}); // upstream closed with the client
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin, upgrade_fields)));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), "hello\n");

    // What follows on the client connection is read as HTTP, not copied to the origin.
    ASSERT_TRUE(s.send_all(websocket_frame + "\r\n\r\n"));
    auto refused = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(refused), 400) << printable(refused);
    EXPECT_TRUE(s.peer_closed(1s));
    EXPECT_TRUE(origin.wait_closed(1, 2s));
    const auto seen = origin.received();
    SCOPED_TRACE("origin read: " + printable(seen));
    EXPECT_EQ(seen.find(websocket_frame.substr(0, 2)), std::string::npos);
    EXPECT_EQ(count_fields(seen, "upgrade"), 1); // the offer went on
    EXPECT_EQ(count_fields(seen, "connection"), 1);
    EXPECT_EQ(count_fields(seen, "sec-websocket-key"), 1); // end-to-end: kept
    expect_still_serving(ferry);
}

TEST(MalformedResponseUpgrade, OriginAnnouncingUpgradeIn200IsNoTunnel) {
    test_origin origin(
        scripted({{{"HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    "Content-Length: 6\r\n\r\nhello\n"}}}));
    ferry_process ferry({"--pool-per-host", "0"}); // upstream closed with the client
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin, upgrade_fields)));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(count_fields(head_of(r), "upgrade"), 0) << printable(r);
    EXPECT_EQ(body_of(r), "hello\n");

    // The next request is parsed and rewritten (origin-form, Via), not tunnelled raw.
    ASSERT_TRUE(s.send_all(get_request("/good", origin)));
    auto again = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(again), 200) << printable(again);
    s.close();
    EXPECT_TRUE(origin.wait_closed(origin.connections(), 2s));
    const auto seen = origin.received();
    EXPECT_NE(seen.find("GET /good HTTP/1.1\r\n"), std::string::npos) << printable(seen);
    EXPECT_EQ(seen.find("GET http://"), std::string::npos) << printable(seen);
    expect_still_serving(ferry);
}

TEST(MalformedResponseUpgrade, SwitchingProtocolsToAnotherProtocolIsBadGateway) {
    test_origin origin(scripted({{{"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                   "Upgrade: h2c\r\n\r\n" +
                                   websocket_frame}}}));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin, upgrade_fields)));
    auto r = s.read_response(reply_timeout);
    const bool closed = s.peer_closed(300ms);
    expect_ferry_error(r, 502, closed);
    EXPECT_EQ(r.find(websocket_frame.substr(0, 2)), std::string::npos);
    EXPECT_TRUE(origin.wait_closed(1, 2s)) << "ferry kept the upstream connection";
    expect_still_serving(ferry);
}

// ---------------------------------------------------------------------------------------
// Connection naming itself, framing or other hop-by-hop fields in a response: no crash, the
// named fields removed, the framing intact (tinyproxy's Connection: connection class).

struct connection_case {
    std::string name;
    std::string response;
    std::vector<std::string> absent;
    bool upstream_reusable = true;
};

void PrintTo(const connection_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<connection_case> connection_cases() {
    const std::string ok = "HTTP/1.1 200 OK\r\n";
    return {
        {"NamesConnection", ok + "Connection: connection\r\nContent-Length: 6\r\n\r\nhello\n", {}},
        {"NamesConnectionRepeated",
         ok + "Connection: connection\r\nConnection: connection, connection\r\n"
              "Content-Length: 6\r\n\r\nhello\n",
         {}},
        {"NamesContentLength",
         ok + "Connection: content-length\r\nContent-Length: 6\r\n\r\nhello\n",
         {}},
        {"NamesTransferEncoding",
         ok + "Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello,
         {}},
        {"NamesProxyConnectionAndCustom",
         ok + "Connection: proxy-connection, x-secret, keep-alive\r\n"
              "Proxy-Connection: keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
              "Content-Length: 6\r\n\r\nhello\n",
         {"proxy-connection", "x-secret", "keep-alive"}},
        {"CloseAndConnection",
         ok + "Connection: close, connection\r\nContent-Length: 6\r\n\r\nhello\n",
         {},
         false},
    };
}

class MalformedResponseConnection : public ::testing::TestWithParam<connection_case> {};

TEST_P(MalformedResponseConnection, NamedFieldsRemovedFramingIntact) {
    const auto& c = GetParam();
    test_origin origin(scripted({{{c.response}}})); // the origin never closes first
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get_request("/bad", origin)));
    auto r = s.read_response(reply_timeout);
    const auto head = head_of(r);
    SCOPED_TRACE("client read: " + printable(r));
    EXPECT_EQ(status_of(r), 200);
    EXPECT_EQ(decoded_body(r), "hello\n");
    EXPECT_EQ(count_fields(head, "content-length") + count_fields(head, "transfer-encoding"), 1);
    for (const auto& name : c.absent)
        EXPECT_EQ(count_fields(head, name), 0) << name << " was forwarded";
    // Only ferry's own Connection field may reach the client, and only to say close.
    EXPECT_TRUE(count_fields(head, "connection") == 0 ||
                header_value(head, "connection") == "close");

    // The framing was right: the client connection carries a next request.
    ASSERT_TRUE(s.send_all(get_request("/good", origin)));
    auto again = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(again), 200) << printable(again);
    EXPECT_EQ(body_of(again), "hello\n");
    if (!c.upstream_reusable) {
        EXPECT_EQ(origin.connections(), 2) << "reused after Connection: close";
        EXPECT_TRUE(origin.wait_closed(1, 2s)) << "kept after Connection: close";
    }
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedResponseConnection, ::testing::ValuesIn(connection_cases()),
                         [](const auto& info) { return info.param.name; });

} // namespace
