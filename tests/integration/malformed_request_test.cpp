// Malformed and ambiguous requests, sent as raw bytes to the real binary. Each one is refused
// with the right status and the client connection closed, and nothing of it reaches the origin
// (RFC 9112 §2-§7; the peers' bug classes in ANCHORS.md, "Security anchors"). The few forms the
// RFCs allow ("chunked" in any case, repeated identical Content-Length fields, OWS) are accepted
// and reach the origin as exactly one clean message. After every case a fresh client is still
// served.
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/strict_head.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace ferry_test;
using namespace std::literals;

namespace {

constexpr auto reply_timeout = 3s;

// Request templates: "{A}" stands for the origin's authority (127.0.0.1:port).
std::string with_authority(std::string text, const std::string& authority) {
    for (auto at = text.find("{A}"); at != std::string::npos;
         at = text.find("{A}", at + authority.size()))
        text.replace(at, 3, authority);
    return text;
}

// Whether `raw` (what the origin read) holds at least one complete request.
bool holds_complete_request(std::string_view raw) {
    auto end = raw.find("\r\n\r\n");
    if (end == std::string_view::npos) return false;
    auto head = parse_strict_head(raw.substr(0, end + 4));
    auto body = raw.substr(end + 4);
    auto te = field_value(head.fields, "transfer-encoding");
    if (!te.empty()) return chunked_length(body) != std::string_view::npos;
    auto cl = field_value(head.fields, "content-length");
    if (!cl.empty()) return body.size() >= std::stoull(cl);
    return true; // no body announced: the head alone is a complete request
}

// One line of text naming the cause, in an error response that closes the connection.
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
    ASSERT_TRUE(ferry.running()) << ferry.err();
    test_origin origin;
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok()) << "ferry no longer accepts connections; its stderr: " << tail(ferry.err());
    ASSERT_TRUE(s.send_all("GET " + origin.url("/") + " HTTP/1.1\r\nHost: " + origin.authority() +
                           "\r\n\r\n"));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r) << "\nferry's stderr: " << tail(ferry.err());
    EXPECT_EQ(body_of(r), "hello\n");
}

struct exchange {
    std::string response;
    bool closed = false;
};

// Sends `bytes` on a new connection, reads one response and whether ferry then closed.
exchange send_raw(int port, std::string_view bytes) {
    exchange x;
    auto s = tcp_stream::connect_to(port);
    if (!s.ok()) return x;
    s.send_all(bytes); // may fail part-way when ferry answers early and closes: that is fine
    x.response = s.read_response(reply_timeout);
    x.closed = s.peer_closed(1500ms);
    return x;
}

// What the origin has read, once all its connections have ended.
std::string origin_bytes(const test_origin& origin) {
    origin.wait_closed(origin.connections(), 3s);
    return origin.received();
}

// ---------------------------------------------------------------------------------------
// Heads ferry must refuse before connecting anywhere.

struct refused_case {
    std::string name;
    std::string request; // with {A}
    int status;
    std::vector<std::string> args = {};
};

void PrintTo(const refused_case& c, std::ostream* os) {
    *os << c.name;
}

const std::string post = "POST http://{A}/echo HTTP/1.1\r\nHost: {A}\r\n";
const std::string get = "GET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n";
const std::string chunked_hello = "5\r\nhello\r\n0\r\n\r\n";

std::string fill_headers(int n, std::size_t value_size) {
    std::string out;
    for (int i = 0; i < n; ++i)
        out += "X-Fill-" + std::to_string(i) + ": " + std::string(value_size, 'a') + "\r\n";
    return out;
}

std::vector<refused_case> refused_cases() {
    return {
        // Framing (RFC 9112 §6.1, §6.3): never guess where a request ends.
        {"ContentLengthWithTransferEncoding",
         post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello, 400},
        {"TransferEncodingWithContentLength",
         post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked_hello, 400},
        {"ContentLengthZeroWithChunked",
         post + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello, 400},
        {"DifferingContentLengthFields",
         post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
        {"DifferingContentLengthList", post + "Content-Length: 5, 6\r\n\r\nhello!", 400},
        // A list of identical values: RFC 9112 §6.3 lets a recipient accept it, but smuggling
        // corpora class it as severe (a next hop may take the first element or refuse it).
        {"IdenticalContentLengthList", post + "Content-Length: 5, 5\r\n\r\nhello", 400},
        {"EmptyContentLength", post + "Content-Length: \r\n\r\nhello", 400},
        {"EmptySecondContentLength", post + "Content-Length: 5\r\nContent-Length: \r\n\r\nhello",
         400},
        {"ContentLengthOnlyComma", post + "Content-Length: ,\r\n\r\nhello", 400},
        {"ContentLengthPlusSign", post + "Content-Length: +5\r\n\r\nhello", 400},
        {"ContentLengthNegative", post + "Content-Length: -5\r\n\r\nhello", 400},
        {"ContentLengthNonDigit", post + "Content-Length: 5a\r\n\r\nhello", 400},
        {"ContentLengthHex", post + "Content-Length: 0x5\r\n\r\nhello", 400},
        {"ContentLengthSpaceInside", post + "Content-Length: 5 5\r\n\r\nhello", 400},
        {"ContentLengthTwentyDigits", post + "Content-Length: 18446744073709551621\r\n\r\nhello",
         400},
        {"ChunkedThenGzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n" + chunked_hello, 400},
        {"GzipThenChunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked_hello, 501},
        {"GzipFieldThenChunkedField",
         post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello,
         501},
        {"GzipOnly", post + "Transfer-Encoding: gzip\r\n\r\nhello", 400},
        {"ChunkedTwiceInList", post + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked_hello,
         400},
        {"ChunkedFieldTwice",
         post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello,
         400},
        {"EmptyTransferEncoding", post + "Transfer-Encoding: \r\n\r\n" + chunked_hello, 400},
        {"IdentityTransferEncoding", post + "Transfer-Encoding: identity\r\n\r\nhello", 400},
        {"ChunkedLookalike", post + "Transfer-Encoding: xchunked\r\n\r\n" + chunked_hello, 400},
        {"TransferEncodingInHttp10",
         "POST http://{A}/echo HTTP/1.0\r\nHost: {A}\r\nTransfer-Encoding: chunked\r\n\r\n" +
             chunked_hello,
         400},
        // Field syntax (RFC 9112 §5.1, §5.2, §2.2; RFC 9110 §5.5).
        {"SpaceBeforeColonContentLength", post + "Content-Length : 5\r\n\r\nhello", 400},
        {"SpaceBeforeColonTransferEncoding",
         post + "Transfer-Encoding : chunked\r\n\r\n" + chunked_hello, 400},
        {"TabBeforeColon", post + "Content-Length\t: 5\r\n\r\nhello", 400},
        {"SpaceBeforeColonHost", "GET http://{A}/ HTTP/1.1\r\nHost : {A}\r\n\r\n", 400},
        {"ObsFoldSpace", get + "X-A: a\r\n b\r\n\r\n", 400},
        {"ObsFoldTab", get + "X-A: a\r\n\tb\r\n\r\n", 400},
        {"ObsFoldFirstFieldLine", "GET http://{A}/ HTTP/1.1\r\n X-A: b\r\nHost: {A}\r\n\r\n", 400},
        {"ObsFoldInTransferEncoding",
         post + "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n" + chunked_hello, 400},
        {"BareCrInValue", get + "X-A: a\rb\r\n\r\n", 400},
        {"BareCrBeforeCrlf", get + "X-A: a\r\r\n\r\n", 400},
        {"BareCrInRequestLine", "GET http://{A}/\r HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"BareCrEndingRequestLine", "GET http://{A}/ HTTP/1.1\rHost: {A}\r\n\r\n", 400},
        {"BareLfLineEnds", "GET http://{A}/ HTTP/1.1\nHost: {A}\n\n", 400},
        {"BareLfAfterRequestLine", "GET http://{A}/ HTTP/1.1\nHost: {A}\r\n\r\n", 400},
        {"BareLfInFieldLines", get + "X-A: a\nX-B: b\r\n\r\n", 400},
        {"BareLfEndingHead", get + "X-A: a\r\n\n", 400},
        {"NulInValue", get + "X-A: a\0b\r\n\r\n"s, 400},
        {"NulInName", get + "X\0A: b\r\n\r\n"s, 400},
        {"ControlCharInValue", get + "X-A: a\x01z\r\n\r\n", 400},
        {"DelInValue", get + "X-A: a\x7fz\r\n\r\n", 400},
        {"EmptyHeaderName", get + ": x\r\n\r\n", 400},
        {"SpaceInsideHeaderName", get + "X A: b\r\n\r\n", 400},
        {"HeaderLineWithoutColon", get + "X-A\r\n\r\n", 400},
        // Request line (RFC 9112 §3).
        {"SpaceInsideMethod", "G ET http://{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"SeparatorInMethod", "GE(T http://{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"ControlCharInMethod", "GE\x01T http://{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"EmptyMethod", " http://{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"SpaceInsideTarget", "GET http://{A}/a b HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"TabInsideTarget", "GET http://{A}/a\tb HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"ControlCharInTarget", "GET http://{A}/a\x01z HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"DelInTarget", "GET http://{A}/a\x7fz HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"HighByteInTarget", "GET http://{A}/a\xffz HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"NulInTarget", "GET http://{A}/a\0z HTTP/1.1\r\nHost: {A}\r\n\r\n"s, 400},
        {"TwoSpacesBeforeTarget", "GET  http://{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"SpaceAfterVersion", "GET http://{A}/ HTTP/1.1 \r\nHost: {A}\r\n\r\n", 400},
        {"LowercaseVersion", "GET http://{A}/ http/1.1\r\nHost: {A}\r\n\r\n", 400},
        {"MalformedVersion", "GET http://{A}/ HTTP/1.x\r\nHost: {A}\r\n\r\n", 400},
        {"Http2Version", "GET http://{A}/ HTTP/2.0\r\nHost: {A}\r\n\r\n", 505},
        {"UserinfoInTarget", "GET http://user:secret@{A}/ HTTP/1.1\r\nHost: {A}\r\n\r\n", 400},
        // Host (RFC 9112 §3.2).
        {"MissingHost", "GET http://{A}/ HTTP/1.1\r\n\r\n", 400},
        {"DuplicateHost", get + "Host: {A}\r\n\r\n", 400},
        {"DuplicateHostDiffering", get + "Host: example.test\r\n\r\n", 400},
        // Limits: 414 and 431 (RFC 9110 §15.5.15, RFC 6585 §5).
        {"TargetOverDefaultLimit",
         "GET http://{A}/" + std::string(8200, 'a') + " HTTP/1.1\r\nHost: {A}\r\n\r\n", 414},
        {"TargetFarOverDefaultLimit",
         "GET http://{A}/" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: {A}\r\n\r\n", 414},
        {"TargetNeverEnds", "GET http://{A}/" + std::string(100000, 'a'), 414},
        {"TargetOverConfiguredLimit",
         "GET http://{A}/" + std::string(120, 'a') + " HTTP/1.1\r\nHost: {A}\r\n\r\n",
         414,
         {"--max-target-size", "100"}},
        {"HeaderSectionOverDefaultLimit", get + fill_headers(80, 1000) + "\r\n", 431},
        {"OneHeaderOverDefaultLimit", get + "X-Big: " + std::string(70000, 'a') + "\r\n\r\n", 431},
        {"HeaderSectionNeverEnds", get + fill_headers(80, 1000), 431},
        {"HeaderSectionOverConfiguredLimit",
         get + fill_headers(3, 1000) + "\r\n",
         431,
         {"--max-header-size", "2048"}},
    };
}

class MalformedRequestHead : public ::testing::TestWithParam<refused_case> {};

TEST_P(MalformedRequestHead, RefusedClosedAndNothingReachesOrigin) {
    const auto& c = GetParam();
    test_origin origin;
    ferry_process ferry(c.args);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto request = with_authority(c.request, origin.authority());

    auto x = send_raw(ferry.port(), request);
    SCOPED_TRACE("sent: " + printable(request, 300));
    expect_ferry_error(x.response, c.status);
    EXPECT_TRUE(x.closed) << "ferry kept the client connection open after a " << c.status;
    EXPECT_EQ(origin.connections(), 0);
    EXPECT_EQ(printable(origin_bytes(origin)), "");
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedRequestHead, ::testing::ValuesIn(refused_cases()),
                         [](const auto& info) { return info.param.name; });

// A head whose lines end in CR alone never ends for a parser that looks for LF: it must
// still be refused (400 at once, or 408 at the header timeout) and never forwarded.
TEST(MalformedRequestHeadCrOnly, RefusedOrTimedOutButNeverForwarded) {
    test_origin origin;
    ferry_process ferry({"--header-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto x = send_raw(ferry.port(), with_authority("GET http://{A}/ HTTP/1.1\rHost: {A}\r\r",
                                                   origin.authority()));
    const int status = status_of(x.response);
    EXPECT_TRUE(status == 400 || status == 408) << printable(x.response);
    if (status == 400 || status == 408) expect_ferry_error(x.response, status);
    EXPECT_TRUE(x.closed);
    EXPECT_EQ(origin.connections(), 0);
    expect_still_serving(ferry);
}

// The limits are inclusive: a target or a head just within them is forwarded.
TEST(MalformedRequestLimits, TargetAtConfiguredLimitIsForwarded) {
    test_origin origin;
    ferry_process ferry({"--max-target-size", "100"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::string target = origin.url("/");
    const std::string at_limit = target + std::string(100 - target.size(), 'a');
    const std::string over = at_limit + "a";

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(
        s.send_all("GET " + at_limit + " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);

    auto x = send_raw(ferry.port(),
                      "GET " + over + " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
    expect_ferry_error(x.response, 414);
    EXPECT_TRUE(x.closed);
}

TEST(MalformedRequestLimits, HeadJustUnderDefaultLimitIsForwarded) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto request =
        with_authority("GET http://{A}/headers HTTP/1.1\r\nHost: {A}\r\n", origin.authority()) +
        fill_headers(60, 1000) + "\r\n";
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(request));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_NE(body_of(r).find("X-Fill-59: "), std::string_view::npos);
}

// ---------------------------------------------------------------------------------------
// Chunked bodies that go wrong after a valid head: the origin may have read the head and
// part of the body, but never a complete request.

struct bad_body_case {
    std::string name;
    std::string body; // after a valid "Transfer-Encoding: chunked" head
};

void PrintTo(const bad_body_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<bad_body_case> bad_body_cases() {
    return {
        {"ChunkSize16HexDigits", "7fffffffffffffff\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSize20HexDigitsWrappingTo5", "10000000000000000005\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSize20HexDigitsAllF", "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSizeNotHex", "zz\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSizeEmpty", "\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSizePlusSign", "+5\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSizeNegative", "-5\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSize0xPrefix", "0x5\r\nhello\r\n0\r\n\r\n"},
        {"ChunkSizeTrailingSpace", "5 \r\nhello\r\n0\r\n\r\n"},
        {"ChunkLineBareLf", "5\nhello\r\n0\r\n\r\n"},
        {"ChunkLineBareCr", "5\rhello\r\n0\r\n\r\n"},
        {"ChunkExtensionBareLf", "5;a=b\nhello\r\n0\r\n\r\n"},
        {"ChunkExtensionBareCr", "5;a\rb\r\nhello\r\n0\r\n\r\n"},
        {"ChunkExtensionControlChar", "5;a\x01\r\nhello\r\n0\r\n\r\n"},
        {"ChunkExtension64KiB", "5;" + std::string(65536, 'a') + "\r\nhello\r\n0\r\n\r\n"},
        {"LastChunkBareLf", "5\r\nhello\r\n0\n\r\n"},
        {"DataEndedByBareLf", "5\r\nhello\n0\r\n\r\n"},
        {"MissingCrlfAfterData", "5\r\nhello0\r\n\r\n"},
        {"DataLongerThanSize", "3\r\nhello\r\n0\r\n\r\n"},
        {"SecondChunkSizeNotHex", "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n"},
        {"TrailerSpaceBeforeColon", "5\r\nhello\r\n0\r\nX-T : 1\r\n\r\n"},
        {"TrailerObsFold", "5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n"},
        {"TrailerBareLf", "5\r\nhello\r\n0\r\nX-T: 1\n\r\n"},
    };
}

// Each bad body is sent two ways: with the head in one packet (ferry meets the bad chunk
// before it has written anything upstream), and after a good first chunk that ferry has
// already forwarded with the head.
class MalformedRequestBody
    : public ::testing::TestWithParam<std::tuple<bad_body_case, bool /*after_first_chunk*/>> {};

TEST_P(MalformedRequestBody, RefusedClosedAndNeverCompleteAtOrigin) {
    const auto& [c, after_first_chunk] = GetParam();
    test_origin origin([](origin_connection& conn) {
        conn.received += conn.stream.read_until_close(4s); // whatever ferry sends, until it closes
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const std::string first =
        with_authority(post + "Transfer-Encoding: chunked\r\n\r\n", origin.authority()) +
        (after_first_chunk ? "5\r\nhello\r\n" : "");
    SCOPED_TRACE("sent: " + printable(first, 300) + " then " + printable(c.body, 300));

    exchange x;
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    if (after_first_chunk) {
        ASSERT_TRUE(s.send_all(first));
        std::this_thread::sleep_for(150ms);
        s.send_all(c.body);
    } else {
        s.send_all(first + c.body);
    }
    x.response = s.read_response(reply_timeout);
    x.closed = s.peer_closed(1500ms);
    expect_ferry_error(x.response, 400);
    EXPECT_TRUE(x.closed) << "ferry kept the client connection open after a bad chunk";
    EXPECT_LE(origin.connections(), 1);
    EXPECT_TRUE(origin.wait_closed(origin.connections(), 2s))
        << "the upstream connection was left open after the request failed";
    auto seen = origin.received();
    EXPECT_FALSE(holds_complete_request(seen)) << "origin read: " << printable(seen);
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedRequestBody,
                         ::testing::Combine(::testing::ValuesIn(bad_body_cases()),
                                            ::testing::Bool()),
                         [](const auto& info) {
                             return std::get<0>(info.param).name +
                                    (std::get<1>(info.param) ? "_AfterFirstChunk" : "_AtOnce");
                         });

// A client that stops in the middle of its body: nothing complete reaches the origin, no
// success is reported, and both connections are closed.
TEST(MalformedRequestBodyCutShort, OriginNeverSeesACompleteRequest) {
    struct cut {
        const char* name;
        std::string request;
    };
    const std::vector<cut> cuts = {
        {"ContentLength", post + "Content-Length: 10\r\n\r\nhello"},
        {"ChunkedWithoutLastChunk", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
        {"ChunkedMidChunk", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel"},
        {"ChunkedWithoutFinalCrlf", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"},
    };
    for (const auto& c : cuts) {
        SCOPED_TRACE(c.name);
        test_origin origin(
            [](origin_connection& conn) { conn.received += conn.stream.read_until_close(5s); });
        ferry_process ferry;
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(with_authority(c.request, origin.authority())));
        std::this_thread::sleep_for(200ms); // let the head and the first bytes go upstream
        s.shutdown_write();
        auto response = s.read_until_close(reply_timeout);
        EXPECT_TRUE(s.peer_closed(100ms));
        EXPECT_NE(status_of(response), 200) << printable(response);
        EXPECT_TRUE(origin.wait_closed(origin.connections(), 2s));
        auto seen = origin.received();
        EXPECT_FALSE(holds_complete_request(seen)) << "origin read: " << printable(seen);
        expect_still_serving(ferry);
    }
}

// ---------------------------------------------------------------------------------------
// Forms the RFCs allow: accepted, and normalised into exactly one clean message upstream.

enum class framing { none, length, chunked };

struct accepted_case {
    std::string name;
    std::string request; // with {A}
    framing expected_framing;
    std::string body;                      // the body the origin must decode
    std::vector<std::string> absent = {};  // fields that must not reach the origin
    std::vector<std::string> present = {}; // "Name: value" lines that must (trailers too)
};

void PrintTo(const accepted_case& c, std::ostream* os) {
    *os << c.name;
}

std::vector<accepted_case> accepted_cases() {
    const auto chunked_post = [](std::string te_line, std::string body) {
        return post + te_line + "\r\n\r\n" + body;
    };
    return {
        {"TransferEncodingUppercase", chunked_post("Transfer-Encoding: CHUNKED", chunked_hello),
         framing::chunked, "hello"},
        {"TransferEncodingMixedCase", chunked_post("Transfer-Encoding: Chunked", chunked_hello),
         framing::chunked, "hello"},
        {"TransferEncodingExtraSpace", chunked_post("Transfer-Encoding:  chunked", chunked_hello),
         framing::chunked, "hello"},
        {"TransferEncodingTab", chunked_post("Transfer-Encoding:\tchunked", chunked_hello),
         framing::chunked, "hello"},
        {"TransferEncodingTrailingWhitespace",
         chunked_post("Transfer-Encoding: chunked \t", chunked_hello), framing::chunked, "hello"},
        {"TransferEncodingNoSpace", chunked_post("Transfer-Encoding:chunked", chunked_hello),
         framing::chunked, "hello"},
        {"TransferEncodingLowercaseName", chunked_post("transfer-encoding: chunked", chunked_hello),
         framing::chunked, "hello"},
        {"ContentLengthRepeatedFields",
         post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", framing::length, "hello"},
        {"ContentLengthLeadingZeros", post + "Content-Length: 005\r\n\r\nhello", framing::length,
         "hello"},
        {"ContentLengthZero", post + "Content-Length: 0\r\n\r\n", framing::length, ""},
        {"ChunkExtensionsDropped",
         chunked_post("Transfer-Encoding: chunked", "5;name=value;x\r\nhello\r\n0;last\r\n\r\n"),
         framing::chunked, "hello"},
        {"ManySmallChunks",
         chunked_post("Transfer-Encoding: chunked", "1\r\nh\r\n1\r\ne\r\n3\r\nllo\r\n0\r\n\r\n"),
         framing::chunked, "hello"},
        {"UppercaseHexChunkSize",
         chunked_post("Transfer-Encoding: chunked", "A\r\nhellohello\r\n0\r\n\r\n"),
         framing::chunked, "hellohello"},
        {"ChunkSizeLeadingZeros",
         chunked_post("Transfer-Encoding: chunked", "0005\r\nhello\r\n0\r\n\r\n"), framing::chunked,
         "hello"},
        {"ChunkedWithTrailer",
         chunked_post("Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n"),
         framing::chunked,
         "hello",
         {},
         {"X-Trailer: 1"}},
        // Connection naming framing or hop-by-hop fields (tinyproxy's use-after-free class).
        {"ConnectionNamesContentLength",
         post + "Connection: content-length\r\nContent-Length: 5\r\n\r\nhello",
         framing::length,
         "hello",
         {"connection"}},
        {"ConnectionNamesTransferEncoding",
         chunked_post("Connection: transfer-encoding\r\nTransfer-Encoding: chunked", chunked_hello),
         framing::chunked,
         "hello",
         {"connection"}},
        {"ConnectionNamesConnection",
         get + "Connection: connection\r\n\r\n",
         framing::none,
         "",
         {"connection"}},
        {"ConnectionNamesConnectionRepeated",
         get + "Connection: connection\r\nConnection: connection, connection\r\n\r\n",
         framing::none,
         "",
         {"connection"}},
        {"ConnectionNamesProxyConnection",
         get + "Connection: proxy-connection\r\nProxy-Connection: keep-alive\r\n\r\n",
         framing::none,
         "",
         {"connection", "proxy-connection"}},
        {"ConnectionNamesCustomFields",
         get + "Connection: x-secret, connection, keep-alive\r\nX-Secret: 1\r\n"
               "Keep-Alive: timeout=5\r\n\r\n",
         framing::none,
         "",
         {"connection", "x-secret", "keep-alive"}},
        {"ConnectionNamesHost",
         get + "Connection: host\r\n\r\n",
         framing::none,
         "",
         {"connection"}},
        {"ProxyConnectionAlone",
         get + "Proxy-Connection: keep-alive\r\n\r\n",
         framing::none,
         "",
         {"proxy-connection"}},
        // Upgrade is forwarded only as an offer (named by Connection, no body): RFC 9110 §7.8.
        {"UpgradeNotNamedByConnectionRemoved",
         get + "Upgrade: websocket\r\n\r\n",
         framing::none,
         "",
         {"upgrade"}},
        {"UpgradeWithABodyRemoved",
         post + "Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n\r\nhello",
         framing::length,
         "hello",
         {"connection", "upgrade"}},
        {"UpgradeOfferForwarded",
         get + "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
         framing::none,
         "",
         {"keep-alive"},
         {"Upgrade: websocket", "Connection: upgrade"}},
        {"Http10WithoutHost", "GET http://{A}/ HTTP/1.0\r\n\r\n", framing::none, ""},
    };
}

class MalformedRequestAccepted : public ::testing::TestWithParam<accepted_case> {};

TEST_P(MalformedRequestAccepted, ReachesOriginAsOneCleanMessage) {
    const auto& c = GetParam();
    test_origin origin;
    // Without a pool ferry closes the upstream connection after the exchange, so the origin
    // has all ferry will send once it sees the close.
    ferry_process ferry({"--pool-per-host", "0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto request = with_authority(c.request, origin.authority());
    SCOPED_TRACE("sent: " + printable(request, 300));
    const bool is_post = request.starts_with("POST ");

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(request));
    auto r = s.read_response(reply_timeout);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), is_post ? c.body : "hello\n") << printable(r);
    s.close();

    ASSERT_TRUE(origin.wait_closed(1, 3s)) << "ferry did not close upstream after the client left";
    EXPECT_EQ(origin.connections(), 1);
    const auto seen = origin.received();
    SCOPED_TRACE("origin read: " + printable(seen));
    const auto head_end = seen.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    auto head = parse_strict_head(std::string_view(seen).substr(0, head_end + 4));
    EXPECT_EQ(head.problem, "");
    EXPECT_EQ(head.start_line, is_post ? "POST /echo HTTP/1.1" : "GET / HTTP/1.1");
    EXPECT_EQ(count_fields(head.fields, "host"), 1);
    EXPECT_EQ(field_value(head.fields, "host"), origin.authority());
    for (const auto& name : c.absent)
        EXPECT_EQ(count_fields(head.fields, name), 0) << name << " was forwarded";

    const std::string_view body = std::string_view(seen).substr(head_end + 4);
    const int cl = count_fields(head.fields, "content-length");
    const int te = count_fields(head.fields, "transfer-encoding");
    switch (c.expected_framing) {
    case framing::none:
        EXPECT_EQ(cl + te, 0);
        EXPECT_EQ(body, "");
        break;
    case framing::length:
        EXPECT_EQ(cl, 1);
        EXPECT_EQ(te, 0);
        EXPECT_EQ(field_value(head.fields, "content-length"), std::to_string(c.body.size()));
        EXPECT_EQ(body, c.body); // and nothing after it
        break;
    case framing::chunked: {
        EXPECT_EQ(cl, 0);
        EXPECT_EQ(te, 1);
        EXPECT_EQ(field_value(head.fields, "transfer-encoding"), "chunked");
        EXPECT_EQ(chunked_length(body), body.size()) << "not one complete chunked body";
        std::string decoded;
        EXPECT_TRUE(dechunk(body, decoded));
        EXPECT_EQ(decoded, c.body);
        EXPECT_EQ(body.find(';'), std::string_view::npos) << "chunk extensions forwarded";
        break;
    }
    }
    for (const auto& line : c.present)
        EXPECT_NE(seen.find(line + "\r\n"), std::string::npos) << line << " missing";
    expect_still_serving(ferry);
}

INSTANTIATE_TEST_SUITE_P(, MalformedRequestAccepted, ::testing::ValuesIn(accepted_cases()),
                         [](const auto& info) { return info.param.name; });

} // namespace
