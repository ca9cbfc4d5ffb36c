// frontend/http2_request: an HTTP/2 request's header block and the HTTP/1.1 head the exchange
// gets for it (RFC 9113 §8.3 and §8.2.3, RFC 9110 §7.6, RFC 8441 §4). Pure: no session, no
// stream; what nghttp2 has already refused as malformed is not repeated here.
#include "frontend/http2_request.h"

#include <gtest/gtest.h>

namespace ferry::frontend {
namespace {

constexpr std::size_t no_limit = 1 << 20;

h2_request request(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                   std::size_t limit = no_limit) {
    h2_request r;
    for (const auto& [name, value] : fields)
        r.add(name, value, limit);
    return r;
}

struct converted {
    h2_head head;
    std::string text;
};

converted convert(const h2_request& r, bool end_stream, std::string_view key = "") {
    converted c;
    c.head = to_http1_head(r, end_stream, key, c.text);
    return c;
}

// ---- h2_request::add ----

TEST(H2RequestAdd, PseudoHeadersGoToTheirMembersAndTheRestStayInOrder) {
    const auto r = request({{":method", "GET"},
                            {":scheme", "http"},
                            {":authority", "127.0.0.1:8080"},
                            {":path", "/x?y=1"},
                            {"user-agent", "t/1"},
                            {"accept", "*/*"},
                            {"x-b", "2"}});
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.scheme, "http");
    EXPECT_EQ(r.authority, "127.0.0.1:8080");
    EXPECT_EQ(r.path, "/x?y=1");
    EXPECT_TRUE(r.protocol.empty());
    const std::vector<std::pair<std::string, std::string>> want{
        {"user-agent", "t/1"}, {"accept", "*/*"}, {"x-b", "2"}};
    EXPECT_EQ(r.fields, want);
    EXPECT_FALSE(r.too_large);
}

TEST(H2RequestAdd, CountsRfc9113SizeOfEveryField) {
    // §6.5.2: name + value + 32 octets per field, pseudo-headers included.
    const auto r = request({{":method", "GET"}, {"accept", "*/*"}});
    EXPECT_EQ(r.decoded_size, (7 + 3 + 32) + (6 + 3 + 32));
}

TEST(H2RequestAdd, PastTheLimitItIsTooLargeAndKeepsNoMore) {
    const std::string big(100, 'v');
    // Limit 200: ":method GET" (42) + "a" (133) = 175 fits; "b" (133) passes it.
    const auto r = request({{":method", "GET"}, {"a", big}, {"b", big}, {":path", "/late"}}, 200);
    EXPECT_TRUE(r.too_large);
    ASSERT_EQ(r.fields.size(), 1u);
    EXPECT_EQ(r.fields[0].first, "a");
    EXPECT_TRUE(r.path.empty()); // nothing after the limit is kept, pseudo-headers included
    EXPECT_EQ(r.decoded_size, 42u + 133 + 133 + (5 + 5 + 32));
}

TEST(H2RequestAdd, ExactlyAtTheLimitIsNotTooLarge) {
    const auto r = request({{":method", "GET"}}, 42);
    EXPECT_FALSE(r.too_large);
    const auto over = request({{":method", "GET"}}, 41);
    EXPECT_TRUE(over.too_large);
}

TEST(H2RequestAdd, ClearedRequestIsLikeANewOne) {
    // A connection reuses ended streams: nothing of the last request may leak into the next.
    auto r = request({{":method", "CONNECT"},
                      {":protocol", "websocket"},
                      {":scheme", "https"},
                      {":authority", "old.test"},
                      {":path", "/old"},
                      {"cookie", "old=1"},
                      {"x", std::string(300, 'x')}},
                     200);
    ASSERT_TRUE(r.too_large);
    r.clear();
    EXPECT_FALSE(r.too_large);
    EXPECT_EQ(r.decoded_size, 0u);
    for (const auto& [name, value] :
         std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {":method", "GET"},
             {":scheme", "http"},
             {":authority", "new.test"},
             {":path", "/new"}})
        r.add(name, value, 200);
    const auto fresh = request(
        {{":method", "GET"}, {":scheme", "http"}, {":authority", "new.test"}, {":path", "/new"}},
        200);
    std::string a, b;
    to_http1_head(r, true, "", a);
    to_http1_head(fresh, true, "", b);
    EXPECT_EQ(a, b);
    EXPECT_TRUE(r.protocol.empty());
    EXPECT_TRUE(r.fields.empty());
    EXPECT_EQ(r.decoded_size, fresh.decoded_size);
}

// ---- to_http1_head: the request line ----

TEST(H2ToHttp1, GetBecomesAbsoluteFormWithHostFromAuthority) {
    const auto r = request({{":method", "GET"},
                            {":scheme", "http"},
                            {":authority", "127.0.0.1:8080"},
                            {":path", "/x"},
                            {"accept", "*/*"}});
    const auto c = convert(r, true);
    EXPECT_TRUE(c.head.problem.empty());
    EXPECT_FALSE(c.head.chunked_body);
    EXPECT_FALSE(c.head.websocket);
    EXPECT_EQ(c.text, "GET http://127.0.0.1:8080/x HTTP/1.1\r\n"
                      "Host: 127.0.0.1:8080\r\n"
                      "accept: */*\r\n"
                      "\r\n");
}

TEST(H2ToHttp1, SchemeIsTakenAsGiven) {
    const auto r = request(
        {{":method", "GET"}, {":scheme", "https"}, {":authority", "example.test"}, {":path", "/"}});
    const auto c = convert(r, true);
    EXPECT_TRUE(c.text.starts_with("GET https://example.test/ HTTP/1.1\r\nHost: example.test\r\n"))
        << c.text;
}

TEST(H2ToHttp1, OptionsAsteriskHasAnEmptyPath) {
    // RFC 9112 §3.2.4: absolute-form without a path is the origin's "OPTIONS *".
    const auto r = request({{":method", "OPTIONS"},
                            {":scheme", "http"},
                            {":authority", "127.0.0.1:8080"},
                            {":path", "*"}});
    const auto c = convert(r, true);
    EXPECT_TRUE(c.head.problem.empty());
    EXPECT_EQ(c.text, "OPTIONS http://127.0.0.1:8080 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST(H2ToHttp1, ConnectIsAuthorityFormWithoutABodyFraming) {
    // §8.5: only :method and :authority; the stream's DATA is the tunnel, never chunked.
    const auto r = request({{":method", "CONNECT"}, {":authority", "127.0.0.1:443"}});
    const auto c = convert(r, false);
    EXPECT_TRUE(c.head.problem.empty());
    EXPECT_FALSE(c.head.chunked_body);
    EXPECT_FALSE(c.head.websocket);
    EXPECT_EQ(c.text, "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n");
}

// ---- Host ----

TEST(H2ToHttp1, AuthorityWinsOverAHostField) {
    // §8.3.1: :authority is the target; a host field beside it is not sent twice.
    const auto r = request({{":method", "GET"},
                            {":scheme", "http"},
                            {":authority", "a.test"},
                            {":path", "/"},
                            {"host", "b.test"}});
    const auto c = convert(r, true);
    EXPECT_EQ(c.text, "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
}

TEST(H2ToHttp1, HostFieldStandsInForAMissingAuthority) {
    const auto r =
        request({{":method", "GET"}, {":scheme", "http"}, {":path", "/p"}, {"host", "b.test:81"}});
    const auto c = convert(r, true);
    EXPECT_TRUE(c.head.problem.empty());
    EXPECT_EQ(c.text, "GET http://b.test:81/p HTTP/1.1\r\nHost: b.test:81\r\n\r\n");
}

TEST(H2ToHttp1, NeitherAuthorityNorHostIsAProblem) {
    const auto r = request({{":method", "GET"}, {":scheme", "http"}, {":path", "/p"}});
    const auto c = convert(r, true);
    EXPECT_FALSE(c.head.problem.empty());
    EXPECT_NE(c.head.problem.find(":authority"), std::string::npos) << c.head.problem;
}

// ---- fields ----

TEST(H2ToHttp1, CookieCrumbsAreJoinedWithSemicolonSpace) {
    // §8.2.3: a client may split cookie into one field per crumb; HTTP/1.1 gets one field.
    const auto r = request({{":method", "GET"},
                            {":scheme", "http"},
                            {":authority", "a.test"},
                            {":path", "/"},
                            {"cookie", "a=1"},
                            {"accept", "*/*"},
                            {"cookie", "b=2"},
                            {"cookie", "c=3"}});
    const auto c = convert(r, true);
    EXPECT_EQ(c.text, "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n"
                      "accept: */*\r\n"
                      "cookie: a=1; b=2; c=3\r\n\r\n");
}

TEST(H2ToHttp1, OneCookieStaysAsItIs) {
    const auto r = request({{":method", "GET"},
                            {":scheme", "http"},
                            {":authority", "a.test"},
                            {":path", "/"},
                            {"cookie", "a=1; b=2"}});
    const auto c = convert(r, true);
    EXPECT_NE(c.text.find("\r\ncookie: a=1; b=2\r\n"), std::string::npos) << c.text;
    EXPECT_EQ(c.text.find("cookie", c.text.find("cookie") + 1), std::string::npos) << c.text;
}

// ---- body framing ----

TEST(H2ToHttp1, BodyOfUnknownLengthIsChunked) {
    const auto r = request(
        {{":method", "POST"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/u"}});
    const auto c = convert(r, false);
    EXPECT_TRUE(c.head.chunked_body);
    EXPECT_EQ(c.text, "POST http://a.test/u HTTP/1.1\r\nHost: a.test\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(H2ToHttp1, BodyWithContentLengthIsNotChunked) {
    const auto r = request({{":method", "PUT"},
                            {":scheme", "http"},
                            {":authority", "a.test"},
                            {":path", "/u"},
                            {"content-length", "5"}});
    const auto c = convert(r, false);
    EXPECT_FALSE(c.head.chunked_body);
    EXPECT_EQ(c.text, "PUT http://a.test/u HTTP/1.1\r\nHost: a.test\r\ncontent-length: 5\r\n\r\n");
}

TEST(H2ToHttp1, EmptyPostGetsContentLengthZero) {
    for (const char* method : {"POST", "PUT", "PATCH"}) {
        const auto r = request(
            {{":method", method}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}});
        const auto c = convert(r, true);
        EXPECT_FALSE(c.head.chunked_body) << method;
        EXPECT_TRUE(c.text.ends_with("\r\nContent-Length: 0\r\n\r\n")) << method << ": " << c.text;
        EXPECT_EQ(c.text.find("Transfer-Encoding"), std::string::npos) << method;
    }
}

TEST(H2ToHttp1, GetWithoutBodyHasNoFraming) {
    for (const char* method : {"GET", "HEAD", "DELETE", "OPTIONS"}) {
        const auto r = request(
            {{":method", method}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}});
        const auto c = convert(r, true);
        EXPECT_EQ(c.text.find("Content-Length"), std::string::npos) << method << ": " << c.text;
        EXPECT_EQ(c.text.find("Transfer-Encoding"), std::string::npos) << method;
    }
}

TEST(H2ToHttp1, GetWithABodyIsChunkedToo) {
    // A GET whose HEADERS did not end the stream has a body: it must not be lost.
    const auto r = request(
        {{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}});
    const auto c = convert(r, false);
    EXPECT_TRUE(c.head.chunked_body);
    EXPECT_NE(c.text.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
}

// ---- RFC 8441 extended CONNECT ----

TEST(H2ToHttp1, WebsocketConnectBecomesAnUpgradeGet) {
    const auto r = request({{":method", "CONNECT"},
                            {":protocol", "websocket"},
                            {":scheme", "http"},
                            {":authority", "127.0.0.1:9000"},
                            {":path", "/chat"},
                            {"sec-websocket-version", "13"},
                            {"sec-websocket-protocol", "chat"}});
    EXPECT_EQ(r.protocol, "websocket");
    const auto c = convert(r, false, "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_TRUE(c.head.problem.empty());
    EXPECT_TRUE(c.head.websocket);
    EXPECT_FALSE(c.head.chunked_body); // the stream is the WebSocket, not a body
    EXPECT_EQ(c.text, "GET http://127.0.0.1:9000/chat HTTP/1.1\r\n"
                      "Host: 127.0.0.1:9000\r\n"
                      "sec-websocket-version: 13\r\n"
                      "sec-websocket-protocol: chat\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "\r\n");
}

TEST(H2ToHttp1, ExtendedConnectForAnotherProtocolIsRefused) {
    const auto r = request({{":method", "CONNECT"},
                            {":protocol", "connect-udp"},
                            {":scheme", "https"},
                            {":authority", "a.test"},
                            {":path", "/.well-known/masque/udp/a.test/53/"}});
    std::string out;
    const auto head = to_http1_head(r, false, "key", out);
    EXPECT_FALSE(head.problem.empty());
    EXPECT_NE(head.problem.find("connect-udp"), std::string::npos) << head.problem;
    EXPECT_FALSE(head.websocket && head.problem.empty());
}

TEST(H2ToHttp1, AppendsToWhatIsAlreadyThere) {
    const auto r = request(
        {{":method", "GET"}, {":scheme", "http"}, {":authority", "a.test"}, {":path", "/"}});
    std::string out = "kept";
    to_http1_head(r, true, "", out);
    EXPECT_EQ(out, "keptGET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
}

} // namespace
} // namespace ferry::frontend
