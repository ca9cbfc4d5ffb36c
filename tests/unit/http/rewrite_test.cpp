// rewrite: the exact bytes ferry sends on (RFC 9110 §7.6, RFC 9112 §3.2.2).
#include "http/rewrite.h"

#include "http/head_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {
namespace {

constexpr std::string_view date = "Tue, 15 Nov 1994 08:12:31 GMT";

// A head parsed from raw bytes; the head's views point into `text`, so it stays put.
struct request_text {
    explicit request_text(std::string t) : text(std::move(t)) {
        error = parse_request_head(text, 8192, head);
    }
    request_text(const request_text&) = delete;
    request_text& operator=(const request_text&) = delete;
    std::string text;
    request_head head;
    parse_error error;
};

struct response_text {
    explicit response_text(std::string t) : text(std::move(t)) {
        error = parse_response_head(text, head);
    }
    response_text(const response_text&) = delete;
    response_text& operator=(const response_text&) = delete;
    std::string text;
    response_head head;
    parse_error error;
};

// What ferry sends upstream for this request.
std::string forward(std::string raw, framing_fields framing = {},
                    std::string_view pseudonym = "ferry") {
    request_text r(std::move(raw));
    EXPECT_EQ(r.error, parse_error::none) << r.text;
    target t;
    EXPECT_EQ(parse_request_target(r.head.method, r.head.target, find_field(r.head, "host"), t),
              target_error::none)
        << r.text;
    std::string out;
    write_forward_request(r.head, t, framing, pseudonym, out);
    return out;
}

std::string respond(std::string raw, response_options options) {
    response_text r(std::move(raw));
    EXPECT_EQ(r.error, parse_error::none) << r.text;
    std::string out;
    write_forward_response(r.head, options, out);
    return out;
}

response_options defaults() {
    response_options o;
    o.pseudonym = "ferry";
    o.date = date;
    return o;
}

framing_fields length(std::uint64_t n) {
    framing_fields f;
    f.content_length = n;
    return f;
}

framing_fields chunked() {
    framing_fields f;
    f.chunked = true;
    return f;
}

// --- requests ---------------------------------------------------------------------------

TEST(ForwardRequest, AbsoluteFormBecomesOriginFormWithHostFromTheTarget) {
    EXPECT_EQ(forward("GET http://example.test:8080/a?b HTTP/1.1\r\n"
                      "User-Agent: curl/7.88.1\r\n"
                      "Host: wrong.test\r\n"
                      "Accept: */*\r\n"
                      "\r\n"),
              "GET /a?b HTTP/1.1\r\n"
              "Host: example.test:8080\r\n"
              "User-Agent: curl/7.88.1\r\n"
              "Accept: */*\r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ForwardRequest, HostIsAddedWhenTheClientSentNone) {
    EXPECT_EQ(forward("GET http://[::1]:8080 HTTP/1.0\r\n\r\n"), "GET / HTTP/1.1\r\n"
                                                                 "Host: [::1]:8080\r\n"
                                                                 "Via: 1.0 ferry\r\n"
                                                                 "\r\n");
}

TEST(ForwardRequest, OriginFormKeepsItsTargetAndHost) {
    EXPECT_EQ(forward("GET /index.html HTTP/1.1\r\nHost: example.test\r\n\r\n"),
              "GET /index.html HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, HopByHopFieldsAreRemoved) {
    EXPECT_EQ(forward("POST http://example.test/form HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Connection: keep-alive, X-Secret,x-other\r\n"
                      "Keep-Alive: timeout=5\r\n"
                      "Proxy-Connection: keep-alive\r\n"
                      "TE: trailers\r\n"
                      "Trailer: X-Checksum\r\n"
                      "Upgrade: websocket\r\n"
                      "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
                      "Proxy-Authenticate: Basic realm=x\r\n"
                      "X-Secret: 1\r\n"
                      "X-Kept: 2\r\n"
                      "X-OTHER: 3\r\n"
                      "Content-Length: 5\r\n"
                      "\r\n",
                      length(5)),
              "POST /form HTTP/1.1\r\n"
              "Host: example.test\r\n"
              "X-Kept: 2\r\n"
              "Content-Length: 5\r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ForwardRequest, FieldsNamedInAnyConnectionLineAreRemoved) {
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "X-A: 1\r\n"
                      "Connection: x-a\r\n"
                      "X-B: 2\r\n"
                      "connection: X-B, ,close\r\n"
                      "X-C: 3\r\n"
                      "\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nX-C: 3\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, ConnectionNamingConnectionIsHarmless) {
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Connection: connection\r\n"
                      "X-A: 1\r\n"
                      "\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nX-A: 1\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, ConnectionCannotRemoveHost) {
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Connection: host\r\n"
                      "\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, FramingFieldsComeFromTheFramingDecision) {
    // Incoming framing fields never pass through; ferry writes its own.
    EXPECT_EQ(forward("POST http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Content-Length: 5, 5\r\n"
                      "X-A: 1\r\n"
                      "\r\n",
                      length(5)),
              "POST / HTTP/1.1\r\nHost: example.test\r\nX-A: 1\r\nContent-Length: 5\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("POST http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Transfer-Encoding: CHUNKED\r\n"
                      "X-A: 1\r\n"
                      "\r\n",
                      chunked()),
              "POST / HTTP/1.1\r\nHost: example.test\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(
        forward("GET http://example.test/ HTTP/1.1\r\n"
                "Host: example.test\r\n"
                "Content-Length: 0\r\n"
                "\r\n",
                length(0)),
        "GET / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\nVia: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Transfer-Encoding: chunked\r\n"
                      "\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, MaxForwardsIsDecrementedForOptionsAndTraceOnly) {
    // RFC 9110 §7.6.2.
    EXPECT_EQ(forward("OPTIONS http://example.test/ HTTP/1.1\r\nHost: example.test\r\n"
                      "Max-Forwards: 5\r\n\r\n"),
              "OPTIONS / HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 4\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("TRACE http://example.test/ HTTP/1.1\r\nHost: example.test\r\n"
                      "max-forwards: 1\r\n\r\n"),
              "TRACE / HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 0\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("OPTIONS * HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 10\r\n\r\n"),
              "OPTIONS * HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 9\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n"
                      "Max-Forwards: 5\r\n\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 5\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("POST http://example.test/ HTTP/1.1\r\nHost: example.test\r\n"
                      "Max-Forwards: 0\r\n\r\n"),
              "POST / HTTP/1.1\r\nHost: example.test\r\nMax-Forwards: 0\r\n"
              "Via: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, ViaIsAppendedWithTheReceivedVersion) {
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.0\r\nVia: 1.1 first\r\n\r\n", {},
                      "proxy.example:3128"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 first\r\n"
              "Via: 1.0 proxy.example:3128\r\n\r\n");
    EXPECT_EQ(
        forward("GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n", {}, "ferry"),
        "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, UnknownFieldsAndTheOrderOfRepeatedFieldsAreKept) {
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "X-B: 1\r\n"
                      "Host: example.test\r\n"
                      "x-a: 2\r\n"
                      "X-B: 3\r\n"
                      "Cookie: a=1\r\n"
                      "cookie: b=2\r\n"
                      "X-Weird_Name~: \xc3\xa9t\xc3\xa9\r\n"
                      "X-Empty:\r\n"
                      "\r\n"),
              "GET / HTTP/1.1\r\n"
              "Host: example.test\r\n"
              "X-B: 1\r\n"
              "x-a: 2\r\n"
              "X-B: 3\r\n"
              "Cookie: a=1\r\n"
              "cookie: b=2\r\n"
              "X-Weird_Name~: \xc3\xa9t\xc3\xa9\r\n"
              "X-Empty: \r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ForwardRequest, UpgradeOfferIsForwardedWithConnectionUpgrade) {
    // RFC 9110 §7.8: the Upgrade fields stay in place, Connection is ferry's own and names
    // only upgrade; the other options and the fields they name are still removed.
    EXPECT_EQ(forward("GET http://example.test/chat HTTP/1.1\r\n"
                      "Host: example.test\r\n"
                      "Connection: keep-alive, Upgrade, X-Secret\r\n"
                      "Upgrade: websocket\r\n"
                      "Keep-Alive: timeout=5\r\n"
                      "X-Secret: 1\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "upgrade: foo/2, Bar\r\n"
                      "\r\n"),
              "GET /chat HTTP/1.1\r\n"
              "Host: example.test\r\n"
              "Upgrade: websocket\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n"
              "upgrade: foo/2, Bar\r\n"
              "Connection: upgrade\r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
    // The option is found in any Connection line, in any case; Content-Length: 0 is no body.
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\n"
                      "Upgrade: h2c\r\n"
                      "connection: close\r\n"
                      "Connection: UPGRADE\r\n"
                      "Content-Length: 0\r\n"
                      "\r\n",
                      length(0)),
              "GET / HTTP/1.1\r\nHost: example.test\r\nUpgrade: h2c\r\nContent-Length: 0\r\n"
              "Connection: upgrade\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, UpgradeIsDroppedWhenTheRequestDoesNotOfferIt) {
    const std::string plain = "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n";
    // Upgrade not named by Connection.
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\nUpgrade: websocket\r\n"
                      "Connection: keep-alive\r\n\r\n"),
              plain);
    // Connection names upgrade but no protocol is offered.
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\nConnection: upgrade\r\n\r\n"), plain);
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.1\r\nUpgrade: , \r\n"
                      "Connection: upgrade\r\n\r\n"),
              plain);
    // An HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8).
    EXPECT_EQ(forward("GET http://example.test/ HTTP/1.0\r\nUpgrade: websocket\r\n"
                      "Connection: upgrade\r\n\r\n"),
              "GET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.0 ferry\r\n\r\n");
}

TEST(ForwardRequest, UpgradeWithABodyIsNotForwarded) {
    EXPECT_EQ(forward("POST http://example.test/ HTTP/1.1\r\nUpgrade: h2c\r\n"
                      "Connection: Upgrade\r\nContent-Length: 5\r\n\r\n",
                      length(5)),
              "POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n"
              "Via: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(forward("POST http://example.test/ HTTP/1.1\r\nUpgrade: h2c\r\n"
                      "Connection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\n",
                      chunked()),
              "POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n"
              "Via: 1.1 ferry\r\n\r\n");
}

TEST(ForwardRequest, OutputIsAppended) {
    request_text r("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
    ASSERT_EQ(r.error, parse_error::none);
    target t;
    ASSERT_EQ(parse_request_target("GET", "/", "example.test", t), target_error::none);
    std::string out = "previous";
    write_forward_request(r.head, t, {}, request_options("ferry"), out);
    EXPECT_EQ(out, "previousGET / HTTP/1.1\r\nHost: example.test\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(HopByHop, FixedSet) {
    for (std::string_view name :
         {"Connection", "keep-alive", "PROXY-CONNECTION", "TE", "Trailer", "Upgrade",
          "Proxy-Authorization", "Proxy-Authenticate", "Transfer-Encoding", "content-length"})
        EXPECT_TRUE(is_hop_by_hop(name)) << name;
    for (std::string_view name : {"Host", "Via", "Date", "Authorization", "Trailers",
                                  "Content-Type", "X-Connection", "Keep-Alive2", ""})
        EXPECT_FALSE(is_hop_by_hop(name)) << name;
}

// --- responses --------------------------------------------------------------------------

TEST(ForwardResponse, DateIsAddedWhenAbsent) {
    auto o = defaults();
    o.framing = length(5);
    EXPECT_EQ(respond("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\n", o),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/html\r\n"
              "Date: Tue, 15 Nov 1994 08:12:31 GMT\r\n"
              "Content-Length: 5\r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ForwardResponse, TheOriginsDateIsKept) {
    auto o = defaults();
    EXPECT_EQ(respond("HTTP/1.1 204 No Content\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                      "X-A: 1\r\n\r\n",
                      o),
              "HTTP/1.1 204 No Content\r\n"
              "date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
              "X-A: 1\r\n"
              "Via: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ForwardResponse, ConnectionCloseAndKeepAlive) {
    auto o = defaults();
    o.framing = length(0);
    o.close = true;
    const std::string in = "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(respond(in, o), "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\n"
                              "Connection: close\r\nVia: 1.1 ferry\r\n\r\n");
    o.close = false;
    o.keep_alive_10 = true;
    EXPECT_EQ(respond(in, o), "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\n"
                              "Connection: keep-alive\r\nVia: 1.1 ferry\r\n\r\n");
    o.keep_alive_10 = false;
    EXPECT_EQ(respond(in, o),
              "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardResponse, HopByHopFieldsAreRemovedAndFramingRewritten) {
    auto o = defaults();
    o.framing = chunked();
    EXPECT_EQ(respond("HTTP/1.0 200 OK\r\n"
                      "Date: D\r\n"
                      "Connection: keep-alive, X-Internal\r\n"
                      "Keep-Alive: timeout=5, max=100\r\n"
                      "X-Internal: secret\r\n"
                      "Proxy-Authenticate: Basic realm=\"r\"\r\n"
                      "Upgrade: h2c\r\n"
                      "Trailer: X-Sum\r\n"
                      "Set-Cookie: a=1\r\n"
                      "Set-Cookie: b=2\r\n"
                      "Content-Length: 12\r\n"
                      "\r\n",
                      o),
              "HTTP/1.1 200 OK\r\n"
              "Date: D\r\n"
              "Set-Cookie: a=1\r\n"
              "Set-Cookie: b=2\r\n"
              "Transfer-Encoding: chunked\r\n"
              "Via: 1.0 ferry\r\n"
              "\r\n");
}

TEST(ForwardResponse, AlwaysSentAsHttp11WithTheReasonAsReceived) {
    auto o = defaults();
    EXPECT_EQ(respond("HTTP/1.0 404 Not  Found\r\nDate: D\r\n\r\n", o),
              "HTTP/1.1 404 Not  Found\r\nDate: D\r\nVia: 1.0 ferry\r\n\r\n");
    // No reason phrase: the SP before it is still required (RFC 9112 §4).
    EXPECT_EQ(respond("HTTP/1.1 200\r\nDate: D\r\n\r\n", o),
              "HTTP/1.1 200 \r\nDate: D\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(InterimResponse, KeepsEndToEndFieldsAndAddsVia) {
    response_text r("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                    "Connection: x-hint\r\nX-Hint: 1\r\n\r\n");
    ASSERT_EQ(r.error, parse_error::none);
    std::string out;
    write_interim_response(r.head, "ferry", out);
    EXPECT_EQ(out, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                   "Via: 1.1 ferry\r\n\r\n");
}

TEST(SwitchResponse, KeepsUpgradeAndEndToEndFieldsAddsConnectionAndVia) {
    response_text r("HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade, X-Hop\r\n"
                    "X-Hop: 1\r\n"
                    "Keep-Alive: timeout=5\r\n"
                    "Content-Length: 10\r\n"
                    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    "\r\n");
    ASSERT_EQ(r.error, parse_error::none);
    std::string out = "previous";
    write_switch_response(r.head, "ferry", out);
    EXPECT_EQ(out, "previousHTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                   "Connection: upgrade\r\n"
                   "Via: 1.1 ferry\r\n"
                   "\r\n");
}

} // namespace
} // namespace ferry::http
