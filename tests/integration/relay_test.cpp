// One exchange relayed through ferry, as the client and the origin each see it: every method
// with or without a body, origin-form upstream with Host rebuilt from the target, framing
// (Content-Length, chunked with extensions and trailers, close-delimited), bodiless
// responses (HEAD, 1xx, 204, 304), Expect: 100-continue, hop-by-hop fields, Via, Date,
// Max-Forwards, field order, and requests addressed to ferry itself (RFC 9110 §7, §9, §15;
// RFC 9112 §3, §6, §7).
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/requests.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <regex>
#include <strings.h>

using namespace ferry_test;

namespace {

// Sends `request` on a new connection to ferry and reads one response.
std::string exchange(int port, const std::string& request, bool head_only = false) {
    auto s = tcp_stream::connect_to(port);
    if (!s.ok() || !s.send_all(request)) return {};
    return s.read_response(5s, head_only);
}

bool has_field(std::string_view head, std::string_view name) {
    return !header_values(head, name).empty();
}

std::string first_line(std::string_view message) {
    return std::string(message.substr(0, message.find("\r\n")));
}

// The head ferry sent upstream, as the standard origin's /headers returns it.
std::string head_sent_upstream(const curl_response& r) {
    return r.body;
}

// An origin that answers every request on a connection with the same bytes.
test_origin::handler answer_with(std::string response) {
    return [response](origin_connection& c) {
        for (;;) {
            auto head = c.read_head();
            if (head.empty()) return;
            bool ok = true;
            c.read_body(head, ok);
            if (!ok || !c.send(response)) return;
        }
    };
}

} // namespace

// --- methods and bodies ---------------------------------------------------------------------

TEST(Relay, EveryMethodReachesTheOriginAsSent) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (std::string method : {"GET", "DELETE", "OPTIONS", "PURGE", "FROBNICATE", "M-SEARCH"}) {
        auto r = client.perform(
            {.url = origin.url("/headers"), .proxy = ferry.proxy_url(), .method = method});
        ASSERT_EQ(r.code, CURLE_OK) << method << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.status, 200) << method;
        EXPECT_EQ(first_line(head_sent_upstream(r)), method + " /headers HTTP/1.1");
    }
}

TEST(Relay, MethodsWithBodiesReachTheOriginByteExact) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    const auto body = pattern(70000, 7);
    for (std::string method : {"POST", "PUT", "PATCH", "DELETE", "FROBNICATE"}) {
        auto r = client.perform({.url = origin.url("/echo"),
                                 .proxy = ferry.proxy_url(),
                                 .method = method,
                                 .body = body});
        ASSERT_EQ(r.code, CURLE_OK) << method << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.status, 200) << method;
        EXPECT_EQ(r.body, body) << method;
    }
    // The same bodies streamed chunked by the client.
    for (std::string method : {"POST", "PUT", "FROBNICATE"}) {
        auto r = client.perform({.url = origin.url("/echo"),
                                 .proxy = ferry.proxy_url(),
                                 .method = method,
                                 .pattern_upload = 70000,
                                 .chunked_upload = true});
        ASSERT_EQ(r.code, CURLE_OK) << method << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, pattern(70000)) << method;
    }
}

TEST(Relay, EmptyPostIsRelayedWithContentLengthZero) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\n"
                                                       "Content-Length: 0\r\n\r\n",
                                                       origin.url("/headers"), origin.authority()));
    ASSERT_EQ(status_of(response), 200) << response;
    auto upstream = std::string(body_of(response));
    EXPECT_EQ(first_line(upstream), "POST /headers HTTP/1.1");
    EXPECT_EQ(header_values(upstream, "content-length"), std::vector<std::string>{"0"}) << upstream;
}

TEST(Relay, ChunkedRequestWithExtensionsAndTrailersReachesTheOriginDecodable) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(
        ferry.port(), fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n5;name=value\r\nhello\r\n6;a=\"b c\"\r\n world\r\n"
                                  "0\r\nX-Checksum: 42\r\n\r\n",
                                  origin.url("/echo"), origin.authority()));
    ASSERT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "hello world");
    auto upstream = origin.received();
    EXPECT_EQ(header_values(upstream, "transfer-encoding"), std::vector<std::string>{"chunked"})
        << upstream;
    EXPECT_FALSE(has_field(upstream, "content-length")) << upstream;
}

// --- request target and Host ----------------------------------------------------------------

TEST(Relay, AbsoluteFormGoesUpstreamInOriginFormWithHostFromTheTarget) {
    // RFC 9112 §3.2.2: the Host a client sent beside an absolute-form target is replaced.
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response =
        exchange(ferry.port(), fmt::format("GET {} HTTP/1.1\r\nHost: wrong.example\r\n\r\n",
                                           origin.url("/page?x=1&y=%2F")));
    ASSERT_EQ(status_of(response), 200) << response;
    auto upstream = origin.received();
    EXPECT_EQ(first_line(upstream), "GET /page?x=1&y=%2F HTTP/1.1");
    EXPECT_EQ(header_values(upstream, "host"), std::vector<std::string>{origin.authority()})
        << upstream;
}

TEST(Relay, SchemeAndHostAreCaseInsensitive) {
    // RFC 9110 §4.2.3: "HTTP://LOCALHOST:P/" is the same resource as "http://localhost:P/".
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), fmt::format("GET HTTP://LOCALHOST:{}/size/5 HTTP/1.1\r\n"
                                                       "Host: x\r\n\r\n",
                                                       origin.port()));
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), pattern(5));
}

TEST(Relay, EmptyPathBecomesSlashUpstream) {
    test_origin origin(answer_with("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto url = "http://" + origin.authority();
    EXPECT_EQ(
        status_of(exchange(ferry.port(), fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", url))),
        200);
    EXPECT_EQ(status_of(exchange(ferry.port(),
                                 fmt::format("GET {}?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", url))),
              200);
    auto upstream = origin.received();
    EXPECT_NE(upstream.find("GET / HTTP/1.1\r\n"), std::string::npos) << upstream;
    EXPECT_NE(upstream.find("GET /?q=1 HTTP/1.1\r\n"), std::string::npos) << upstream;
}

TEST(Relay, OptionsWithEmptyPathGoesUpstreamAsAsterisk) {
    // RFC 9112 §3.2.4: OPTIONS for a URI with an empty path and no query is forwarded to the
    // origin as "OPTIONS * HTTP/1.1" by the last proxy.
    test_origin origin(answer_with("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), fmt::format("OPTIONS http://{0} HTTP/1.1\r\nHost: {0}"
                                                       "\r\n\r\n",
                                                       origin.authority()));
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(first_line(origin.received()), "OPTIONS * HTTP/1.1");
}

TEST(Relay, OriginFormWithHostIsRelayed) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), fmt::format("GET /page?a=b HTTP/1.1\r\nHost: {}\r\n"
                                                       "\r\n",
                                                       origin.authority()));
    ASSERT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "hello\n");
    auto upstream = origin.received();
    EXPECT_EQ(first_line(upstream), "GET /page?a=b HTTP/1.1");
    EXPECT_EQ(header_values(upstream, "host"), std::vector<std::string>{origin.authority()});
}

TEST(Relay, LocalhostTargetIsServedWithoutTheSystemResolver) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = fmt::format("http://localhost:{}/headers", origin.port()),
                             .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(header_values(r.body, "host"),
              std::vector<std::string>{fmt::format("localhost:{}", origin.port())});
}

TEST(Relay, HttpOneZeroClientIsRelayedAsOneOne) {
    // RFC 9110 §6.2: an intermediary sends its own version; the 1.0 hop shows in Via.
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.0\r\n\r\n", origin.url("/headers"))));
    auto response = s.read_response(5s);
    ASSERT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(response.rfind("HTTP/1.1 ", 0), 0u) << response;
    auto upstream = std::string(body_of(response));
    EXPECT_EQ(first_line(upstream), "GET /headers HTTP/1.1");
    EXPECT_EQ(header_values(upstream, "host"), std::vector<std::string>{origin.authority()});
    EXPECT_EQ(header_values(upstream, "via"), std::vector<std::string>{"1.0 ferry"});
    EXPECT_TRUE(s.peer_closed(3s)) << "an HTTP/1.0 client without keep-alive is closed after";
}

TEST(Relay, HttpOneZeroClientWithABodyIsRelayed) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format(
        "POST {} HTTP/1.0\r\nContent-Length: 12\r\n\r\nold client\r\n", origin.url("/echo"))));
    auto response = s.read_until_close(5s);
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "old client\r\n");
}

TEST(Relay, ExpectContinueFromAnHttpOneZeroClientGetsNoInterimResponse) {
    // RFC 9110 §10.1.1 and §15.2: the expectation means nothing in 1.0, and a 1.0 client is
    // never sent a 1xx; it sends its body at once and gets the final answer only.
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("POST {} HTTP/1.0\r\nExpect: 100-continue\r\n"
                                       "Content-Length: 4\r\n\r\nbody",
                                       origin.url("/continue"))));
    auto response = s.read_until_close(5s);
    EXPECT_EQ(first_line(response), "HTTP/1.1 200 Test") << response;
    EXPECT_EQ(response.find(" 100 "), std::string::npos) << response;
    EXPECT_EQ(body_of(response), "body");
}

// --- requests addressed to ferry itself -----------------------------------------------------

TEST(Relay, GetAddressedToFerryIsAnsweredByFerry) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (auto url : {fmt::format("http://127.0.0.1:{}/", ferry.port()),
                     fmt::format("http://localhost:{}/", ferry.port())}) {
        auto r = client.perform({.url = url, .proxy = ferry.proxy_url(), .timeout_ms = 5000});
        ASSERT_EQ(r.code, CURLE_OK) << url << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.status, 200) << url;
        EXPECT_NE(r.body.find("ferry"), std::string::npos) << r.body;
    }
    // The same page for a client that takes ferry for a web server (origin-form).
    auto page = exchange(ferry.port(),
                         fmt::format("GET / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", ferry.port()));
    EXPECT_EQ(status_of(page), 200) << page;
    EXPECT_NE(std::string(body_of(page)).find("ferry"), std::string::npos) << page;
    EXPECT_EQ(origin.connections(), 0);
    // Three exchanges, three access-log lines: nothing looped back through ferry.
    auto get_lines = [&] {
        int lines = 0;
        for (const auto& line : lines_of(ferry.out()))
            lines += line.find(" GET ") != std::string::npos;
        return lines;
    };
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (get_lines() < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(get_lines(), 3) << ferry.out();
}

TEST(Relay, OtherMethodsAddressedToFerryNeverLoop) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = fmt::format("http://127.0.0.1:{}/submit", ferry.port());
    curl_client client;
    auto started = std::chrono::steady_clock::now();
    auto r = client.perform({.url = url,
                             .proxy = ferry.proxy_url(),
                             .method = "POST",
                             .body = "a=1",
                             .timeout_ms = 5000});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 600);
    EXPECT_NE(r.body.find("ferry"), std::string::npos) << r.body;
    ASSERT_FALSE(wait_for_line(ferry, {url}).empty()) << ferry.out();
    std::this_thread::sleep_for(500ms);
    int lines = 0;
    for (const auto& line : lines_of(ferry.out()))
        lines += line.find(url) != std::string::npos;
    EXPECT_EQ(lines, 1) << "one exchange, one line; more means ferry forwarded to itself:\n"
                        << ferry.out();
}

// --- response framing ------------------------------------------------------------------------

TEST(Relay, ContentLengthAndChunkedResponsesAreByteExact) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    for (std::size_t n : {0, 1, 999, 1000, 1001, 65536, 300000}) {
        auto a = client.perform(
            {.url = origin.url(fmt::format("/size/{}", n)), .proxy = ferry.proxy_url()});
        ASSERT_EQ(a.code, CURLE_OK) << curl_easy_strerror(a.code);
        EXPECT_EQ(a.body, pattern(n)) << "/size/" << n;
        auto b = client.perform(
            {.url = origin.url(fmt::format("/chunked/{}", n)), .proxy = ferry.proxy_url()});
        ASSERT_EQ(b.code, CURLE_OK) << curl_easy_strerror(b.code);
        EXPECT_EQ(b.body, pattern(n)) << "/chunked/" << n;
    }
}

TEST(Relay, ChunkExtensionsAndTrailersFromTheOrigin) {
    test_origin origin(answer_with("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                   "Trailer: X-Sum\r\n\r\n"
                                   "5;ext=1\r\nhello\r\n6;a=\"b c\";flag\r\n world\r\n"
                                   "0\r\nX-Sum: 42\r\n\r\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/trailers")));
    auto response = s.read_response(5s);
    ASSERT_EQ(status_of(response), 200) << response;
    ASSERT_EQ(header_value(response, "transfer-encoding"), "chunked") << response;
    std::string body;
    ASSERT_TRUE(dechunk(body_of(response), body)) << response;
    EXPECT_EQ(body, "hello world");
    // Trailers are kept when the output is chunked (RFC 9112 §7.1.2 allows either).
    EXPECT_NE(response.find("\r\n0\r\nX-Sum: 42\r\n\r\n"), std::string::npos) << response;
    // The framing held: the same connection serves the next request.
    ASSERT_TRUE(s.send_all(get(origin, "/trailers")));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
}

TEST(Relay, CloseDelimitedResponseIsRechunkedForOneOneClients) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/close/50000")));
    auto response = s.read_response(5s);
    ASSERT_EQ(status_of(response), 200) << first_line(response);
    EXPECT_EQ(header_value(response, "transfer-encoding"), "chunked") << head_of(response);
    std::string body;
    ASSERT_TRUE(dechunk(body_of(response), body));
    EXPECT_EQ(body, pattern(50000));
    // The client connection outlives the origin's.
    ASSERT_TRUE(s.send_all(get(origin, "/size/10")));
    auto next = s.read_response(5s);
    EXPECT_EQ(status_of(next), 200);
    EXPECT_EQ(body_of(next), pattern(10));
}

TEST(Relay, CloseDelimitedAndChunkedResponsesToOneZeroClientsEndWithClose) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (auto path : {"/close/40000", "/chunked/40000"}) {
        auto s = tcp_stream::connect_to(ferry.port());
        // Even a keep-alive 1.0 client: it cannot read chunked, so the end is the close.
        ASSERT_TRUE(s.send_all(get(origin, path, "Connection: keep-alive\r\n", "HTTP/1.0")));
        auto head = s.read_until("\r\n\r\n", 5s);
        ASSERT_EQ(status_of(head), 200) << head;
        EXPECT_FALSE(has_field(head, "transfer-encoding")) << path << "\n" << head;
        EXPECT_FALSE(has_field(head, "content-length")) << path << "\n" << head;
        EXPECT_EQ(s.read_until_close(5s), pattern(40000)) << path;
    }
}

TEST(Relay, HeadResponsesHaveNoBody) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    for (auto path : {"/size/1000", "/chunked/1000"}) {
        ASSERT_TRUE(s.send_all(fmt::format("HEAD {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url(path),
                                           origin.authority())));
        auto head = s.read_response(5s, true);
        EXPECT_EQ(status_of(head), 200) << head;
        if (std::string(path) == "/size/1000") {
            EXPECT_EQ(header_value(head, "content-length"), "1000") << head;
        }
        // Whatever came after the head would show up in front of the next response.
        ASSERT_TRUE(s.send_all(get(origin, "/size/7")));
        auto next = s.read_response(5s);
        EXPECT_EQ(first_line(next), "HTTP/1.1 200 OK") << "after HEAD " << path << ": " << next;
        EXPECT_EQ(body_of(next), pattern(7));
    }
    curl_client client;
    auto r = client.perform(
        {.url = origin.url("/size/5000"), .proxy = ferry.proxy_url(), .method = "HEAD"});
    EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, 0u);
}

TEST(Relay, NoBodyFor204And304) {
    // A 304 carries the representation's Content-Length without a body (RFC 9110 §8.6).
    test_origin origin([](origin_connection& c) {
        for (;;) {
            auto head = c.read_head();
            if (head.empty()) return;
            if (head.find("/204") != std::string::npos)
                c.send("HTTP/1.1 204 No Content\r\nX-Kind: 204\r\n\r\n");
            else if (head.find("/304cl") != std::string::npos)
                c.send("HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"v1\"\r\n\r\n");
            else if (head.find("/304") != std::string::npos)
                c.send("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n");
            else
                c.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        }
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    for (auto path : {"/204", "/304", "/304cl"}) {
        ASSERT_TRUE(s.send_all(get(origin, path)));
        auto head = s.read_until("\r\n\r\n", 3s);
        EXPECT_EQ(status_of(head), std::atoi(path + 1)) << path << ": " << head;
        EXPECT_FALSE(has_field(head, "transfer-encoding")) << head;
        ASSERT_TRUE(s.send_all(get(origin, "/next")));
        auto next = s.read_response(3s);
        EXPECT_EQ(first_line(next), "HTTP/1.1 200 OK") << "after " << path << ": " << next;
        EXPECT_EQ(body_of(next), "ok\n");
    }
}

TEST(Relay, InterimResponsesReachOneOneClientsOnly) {
    test_origin origin(answer_with("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload"
                                   "\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
                                   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/hints")));
    auto response = s.read_response(5s);
    EXPECT_EQ(response.rfind("HTTP/1.1 103 Early Hints\r\n", 0), 0u) << response;
    EXPECT_NE(response.find("Link: </style.css>; rel=preload\r\n"), std::string::npos) << response;
    EXPECT_NE(response.find("HTTP/1.1 102 Processing\r\n"), std::string::npos) << response;
    auto final_at = response.find("HTTP/1.1 200 OK\r\n");
    ASSERT_NE(final_at, std::string::npos) << response;
    EXPECT_EQ(body_of(std::string_view(response).substr(final_at)), "ok\n");

    // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
    auto old = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(old.send_all(get(origin, "/hints", "", "HTTP/1.0")));
    auto plain = old.read_until_close(5s);
    EXPECT_EQ(plain.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << plain;
    EXPECT_EQ(plain.find(" 103 "), std::string::npos) << plain;
    EXPECT_EQ(body_of(plain), "ok\n");
}

// --- Expect: 100-continue ------------------------------------------------------------------

TEST(Relay, ExpectContinueFromTheOriginReachesAWaitingClient) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nExpect: 100-continue\r\n"
                                       "Content-Length: 11\r\n\r\n",
                                       origin.url("/continue"), origin.authority())));
    // The client sends nothing more until it hears 100 Continue.
    auto interim = s.read_until("\r\n\r\n", 3s);
    ASSERT_EQ(status_of(interim), 100) << "no 100 Continue: " << interim;
    ASSERT_TRUE(s.send_all("hello world"));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "hello world");
}

TEST(Relay, ExpectContinueWithCurlUploadsWithoutStalling) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/continue"),
                             .proxy = ferry.proxy_url(),
                             .method = "PUT",
                             .headers = {"Expect: 100-continue"},
                             .pattern_upload = 3 << 20});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers.find(" 100 "), std::string::npos) << r.headers;
    EXPECT_EQ(r.body, pattern(3 << 20));
}

TEST(Relay, EarlyFinalAnswerToExpectContinueReachesAWaitingClient) {
    // The origin refuses without reading the body; the client never sends it.
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\nConnection: close\r\n\r\nno!\r\n");
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("PUT {} HTTP/1.1\r\nHost: {}\r\nExpect: 100-continue\r\n"
                                       "Content-Length: 100000\r\n\r\n",
                                       origin.url("/private"), origin.authority())));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 401) << response;
    EXPECT_EQ(body_of(response), "no!\r\n");
}

TEST(Relay, ExpectContinueToAnOriginThatIgnoresIt) {
    // The origin never sends 100; a client that stops waiting and sends the body is served.
    test_origin origin(test_origin::standard_handler);
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nExpect: 100-continue\r\n"
                                       "Content-Length: 5\r\n\r\n",
                                       origin.url("/echo"), origin.authority())));
    auto interim = s.read_until("\r\n\r\n", 1500ms); // a 100 from ferry itself is fine too
    if (!interim.empty()) {
        EXPECT_EQ(status_of(interim), 100) << interim;
    }
    ASSERT_TRUE(s.send_all("abcde"));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), "abcde");
}

// --- intermediary duties ---------------------------------------------------------------------

TEST(Relay, HopByHopRequestFieldsAreRemoved) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response =
        exchange(ferry.port(), get(origin, "/headers",
                                   "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"
                                   "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
                                   "TE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"
                                   "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
                                   "X-End-To-End: kept\r\n"));
    ASSERT_EQ(status_of(response), 200) << response;
    auto upstream = std::string(body_of(response));
    for (auto name : {"connection", "x-hop", "keep-alive", "proxy-connection", "te", "trailer",
                      "upgrade", "proxy-authorization"})
        EXPECT_FALSE(has_field(upstream, name)) << name << " went upstream:\n" << upstream;
    EXPECT_EQ(header_values(upstream, "x-end-to-end"), std::vector<std::string>{"kept"});
}

TEST(Relay, HopByHopResponseFieldsAreRemoved) {
    test_origin origin(answer_with("HTTP/1.1 200 OK\r\nConnection: X-Resp-Hop\r\n"
                                   "X-Resp-Hop: 1\r\nKeep-Alive: timeout=5, max=100\r\n"
                                   "Proxy-Authenticate: Basic realm=\"origin\"\r\n"
                                   "Upgrade: h2c\r\nTrailer: X-T\r\nTE: trailers\r\n"
                                   "Proxy-Connection: keep-alive\r\nX-End: kept\r\n"
                                   "Content-Length: 3\r\n\r\nok\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/"));
    ASSERT_EQ(status_of(response), 200) << response;
    auto head = std::string(head_of(response));
    for (auto name : {"x-resp-hop", "keep-alive", "proxy-authenticate", "upgrade", "trailer", "te",
                      "proxy-connection"})
        EXPECT_FALSE(has_field(head, name)) << name << " reached the client:\n" << head;
    for (const auto& v : header_values(head, "connection"))
        EXPECT_EQ(v.find("X-Resp-Hop"), std::string::npos) << head;
    EXPECT_EQ(header_values(head, "x-end"), std::vector<std::string>{"kept"});
    EXPECT_EQ(body_of(response), "ok\n");
}

TEST(Relay, ViaIsAddedBothWaysAfterExistingEntries) {
    test_origin origin([](origin_connection& c) {
        for (;;) {
            auto head = c.read_head();
            if (head.empty()) return;
            c.send("HTTP/1.1 200 OK\r\nVia: 1.1 cdn.example\r\nContent-Length: " +
                   std::to_string(head.size()) + "\r\n\r\n" + head);
        }
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/", "Via: 1.0 fred, 1.1 p.example\r\n"));
    ASSERT_EQ(status_of(response), 200) << response;
    auto join = [](const std::vector<std::string>& values) {
        std::string all;
        for (const auto& v : values)
            all += (all.empty() ? "" : ", ") + v;
        return all;
    };
    EXPECT_EQ(join(header_values(body_of(response), "via")), "1.0 fred, 1.1 p.example, 1.1 ferry");
    EXPECT_EQ(join(header_values(head_of(response), "via")), "1.1 cdn.example, 1.1 ferry");
}

TEST(Relay, ViaCarriesThePseudonymGiven) {
    test_origin origin;
    ferry_process ferry({"--via", "gateway-7"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/headers"));
    ASSERT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(header_values(body_of(response), "via"), std::vector<std::string>{"1.1 gateway-7"});
    EXPECT_EQ(header_values(head_of(response), "via"), std::vector<std::string>{"1.1 gateway-7"});
}

TEST(Relay, HttpOneZeroOriginIsAnsweredAsOneOneWithViaOneZero) {
    test_origin origin(answer_with("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"));
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/"));
    EXPECT_EQ(first_line(response), "HTTP/1.1 200 OK") << response;
    EXPECT_EQ(header_values(head_of(response), "via"), std::vector<std::string>{"1.0 ferry"})
        << response;
    EXPECT_EQ(body_of(response), "ok\n");
}

TEST(Relay, DateIsAddedOnlyWhenTheOriginSendsNone) {
    test_origin origin([](origin_connection& c) {
        for (;;) {
            auto head = c.read_head();
            if (head.empty()) return;
            if (head.find("/dated") != std::string::npos)
                c.send("HTTP/1.1 200 OK\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\n"
                       "Content-Length: 0\r\n\r\n");
            else
                c.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto undated = exchange(ferry.port(), get(origin, "/undated"));
    auto dates = header_values(head_of(undated), "date");
    ASSERT_EQ(dates.size(), 1u) << undated;
    // IMF-fixdate (RFC 9110 §5.6.7).
    EXPECT_TRUE(std::regex_match(
        dates[0], std::regex(R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|)"
                             R"(Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT)")))
        << dates[0];
    auto dated = exchange(ferry.port(), get(origin, "/dated"));
    EXPECT_EQ(header_values(head_of(dated), "date"),
              std::vector<std::string>{"Tue, 15 Nov 1994 08:12:31 GMT"})
        << dated;
}

TEST(Relay, MaxForwardsZeroOnOptionsIsAnsweredByFerry) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(
        ferry.port(), fmt::format("OPTIONS {} HTTP/1.1\r\nHost: {}\r\nMax-Forwards: 0\r\n\r\n",
                                  origin.url("/x"), origin.authority()));
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Relay, MaxForwardsZeroOnTraceIsAnsweredByFerryWithTheRequest) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto request_line = fmt::format("TRACE {} HTTP/1.1", origin.url("/x"));
    auto response = exchange(ferry.port(), fmt::format("{}\r\nHost: {}\r\nMax-Forwards: 0\r\n"
                                                       "X-Marker: traced\r\n\r\n",
                                                       request_line, origin.authority()));
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(header_value(response, "content-type"), "message/http") << response;
    auto body = std::string(body_of(response));
    EXPECT_EQ(first_line(body), request_line) << body;
    EXPECT_NE(body.find("X-Marker: traced\r\n"), std::string::npos) << body;
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Relay, MaxForwardsIsDecrementedOnOptionsAndTrace) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto options = exchange(
        ferry.port(), get(origin, "/headers", "Max-Forwards: 5\r\n").replace(0, 3, "OPTIONS"));
    ASSERT_EQ(status_of(options), 200) << options;
    EXPECT_EQ(header_values(body_of(options), "max-forwards"), std::vector<std::string>{"4"})
        << options;
    auto trace = exchange(ferry.port(),
                          get(origin, "/headers", "Max-Forwards: 1\r\n").replace(0, 3, "TRACE"));
    ASSERT_EQ(status_of(trace), 200) << trace;
    EXPECT_EQ(header_values(body_of(trace), "max-forwards"), std::vector<std::string>{"0"})
        << trace;
}

TEST(Relay, MaxForwardsIsLeftAloneOnOtherMethods) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/headers", "Max-Forwards: 0\r\n"));
    ASSERT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(header_values(body_of(response), "max-forwards"), std::vector<std::string>{"0"});
}

TEST(Relay, UnknownFieldsAndTheOrderOfRepeatedFieldsAreKept) {
    test_origin origin([](origin_connection& c) {
        for (;;) {
            auto head = c.read_head();
            if (head.empty()) return;
            c.send(
                "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Origin-Thing: yes\r\n"
                "Set-Cookie: b=2\r\nWarning: 199 - \"x\"\r\nSet-Cookie: c=3\r\nContent-Length: " +
                std::to_string(head.size()) + "\r\n\r\n" + head);
        }
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto response = exchange(ferry.port(), get(origin, "/",
                                               "X-Custom: a\r\nAccept: text/html\r\n"
                                               "X-Custom: b\r\nX-Weird_Name.1: v w \"x\"\r\n"
                                               "X-Custom: c\r\n"));
    ASSERT_EQ(status_of(response), 200) << response;
    auto upstream = body_of(response);
    EXPECT_EQ(header_values(upstream, "x-custom"), (std::vector<std::string>{"a", "b", "c"}))
        << upstream;
    EXPECT_EQ(header_values(upstream, "x-weird_name.1"), std::vector<std::string>{"v w \"x\""});
    EXPECT_EQ(header_values(upstream, "accept"), std::vector<std::string>{"text/html"});
    auto head = head_of(response);
    EXPECT_EQ(header_values(head, "set-cookie"), (std::vector<std::string>{"a=1", "b=2", "c=3"}))
        << head;
    EXPECT_EQ(header_values(head, "x-origin-thing"), std::vector<std::string>{"yes"});
    EXPECT_EQ(header_values(head, "warning"), std::vector<std::string>{"199 - \"x\""});
}
