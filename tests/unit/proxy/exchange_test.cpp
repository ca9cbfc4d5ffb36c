// Whole exchanges through the real HTTP/1 front end and exchange code, over in-memory
// streams with a scripted origin and a clock the test moves: no socket, no thread, no sleep.
#include "test_host.h"

#include <gtest/gtest.h>

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

const std::string ok_hello =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";

std::string status_line(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
}

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

TEST(Exchange, ForwardsAGetWithoutBody) {
    test_host h;
    h.origins.push_back({{ok_hello}});
    auto c = h.connect_client();
    c.send("GET http://origin.test/a?b HTTP/1.1\r\nHost: origin.test\r\nUser-Agent: t\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 200 OK");
    EXPECT_TRUE(c.received.ends_with("\r\n\r\nhello"));
    ASSERT_EQ(h.connects, std::vector<std::string>{"origin.test:80"});
    const auto& sent = h.upstream_logs.at(0)->received;
    EXPECT_TRUE(sent.starts_with("GET /a?b HTTP/1.1\r\n")) << sent;
    EXPECT_NE(sent.find("\r\nHost: origin.test\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("\r\nVia: 1.1 ferry\r\n"), std::string::npos) << sent;
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 200);
    EXPECT_EQ(h.records[0].body_bytes, 5u);
    EXPECT_EQ(h.records[0].bytes_to_client, c.received.size());
    EXPECT_EQ(h.records[0].user_agent, "t");
}

TEST(Exchange, ForwardsARequestBodyByLength) {
    test_host h;
    h.origins.push_back({{ok_hello}});
    auto c = h.connect_client();
    c.send("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 11\r\n\r\n"
           "hello world");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 200 OK");
    const auto& sent = h.upstream_logs.at(0)->received;
    EXPECT_NE(sent.find("\r\nContent-Length: 11\r\n"), std::string::npos) << sent;
    EXPECT_TRUE(sent.ends_with("\r\n\r\nhello world")) << sent;
    EXPECT_EQ(h.records.at(0).bytes_from_client,
              std::string_view("POST http://origin.test/up HTTP/1.1\r\nHost: origin.test\r\n"
                               "Content-Length: 11\r\n\r\nhello world")
                  .size());
}

TEST(Exchange, ChunkedBodiesAreDecodedAndReframed) {
    test_host h;
    h.origins.push_back({{"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"}});
    auto c = h.connect_client();
    c.send(
        "POST http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\nTransfer-Encoding: chunked\r\n"
        "\r\n4\r\nwxyz\r\n0\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 200 OK");
    // Chunk boundaries are hop-by-hop, extensions dropped: the body arrives whole.
    EXPECT_NE(c.received.find("abc"), std::string::npos);
    EXPECT_EQ(c.received.find("ext=1"), std::string::npos);
    EXPECT_TRUE(c.received.ends_with("0\r\n\r\n"));
    const auto& sent = h.upstream_logs.at(0)->received;
    EXPECT_NE(sent.find("wxyz"), std::string::npos) << sent;
    EXPECT_TRUE(sent.ends_with("0\r\n\r\n")) << sent;
    EXPECT_EQ(h.records.at(0).body_bytes, 5u);
}

TEST(Exchange, KeepAliveReusesTheUpstreamConnection) {
    test_host h;
    h.origins.push_back({{ok_hello, ok_hello}});
    auto c = h.connect_client();
    c.send("GET http://origin.test/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    h.settle();
    c.send("GET http://origin.test/2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    h.settle();
    EXPECT_FALSE(c.read()); // the client connection stays open
    EXPECT_EQ(count(c.received, "HTTP/1.1 200 OK"), 2u);
    EXPECT_EQ(h.connects.size(), 1u); // one upstream connection for both
    ASSERT_EQ(h.records.size(), 2u);
    EXPECT_TRUE(h.records[0].upstream_new);
    EXPECT_FALSE(h.records[1].upstream_new);
    EXPECT_EQ(h.records[1].upstream_fate, observe::exchange_record::fate::kept);
}

TEST(Exchange, PipelinedRequestsAreAnsweredInOrder) {
    test_host h;
    h.origins.push_back({{ok_hello, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"}});
    auto c = h.connect_client();
    c.send("GET http://origin.test/1 HTTP/1.1\r\nHost: origin.test\r\n\r\n"
           "GET http://origin.test/2 HTTP/1.1\r\nHost: origin.test\r\n\r\n");
    h.settle();
    c.read();
    const auto first = c.received.find("200 OK"), second = c.received.find("404 Not Found");
    ASSERT_NE(first, std::string::npos) << c.received;
    ASSERT_NE(second, std::string::npos) << c.received;
    EXPECT_LT(first, second);
    ASSERT_EQ(h.records.size(), 2u);
    EXPECT_EQ(h.records[0].target, "http://origin.test/1");
    EXPECT_EQ(h.records[1].status, 404);
}

TEST(Exchange, ConnectTunnelsBytesBothWaysUntilHalfClose) {
    test_host h;
    origin_script echo;
    echo.tunnel_echo = true;
    h.origins.push_back(echo);
    auto c = h.connect_client();
    c.send("CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\nearly bytes|");
    h.settle();
    c.send("more bytes");
    h.settle();
    c.read();
    EXPECT_EQ(c.received, "HTTP/1.1 200 Connection established\r\n\r\nearly bytes|more bytes");
    EXPECT_EQ(h.connects, std::vector<std::string>{"origin.test:443"});
    c.end->shutdown_send(); // the client is done: ferry passes the half-close on
    h.settle();
    EXPECT_TRUE(h.upstream_logs.at(0)->closed_by_ferry);
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].method, "CONNECT");
    EXPECT_EQ(h.records[0].status, 200);
}

struct local_case {
    const char* name;
    std::string request;
    std::string status;
    std::string body_has;
};

class LocalReplies : public ::testing::TestWithParam<local_case> {};

TEST_P(LocalReplies, AreAnsweredWithoutAnOrigin) {
    test_host h;
    auto c = h.connect_client();
    c.send(GetParam().request);
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), GetParam().status) << c.received;
    EXPECT_NE(c.received.find(GetParam().body_has), std::string::npos) << c.received;
    EXPECT_TRUE(h.connects.empty());
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(std::to_string(h.records[0].status), GetParam().status.substr(9, 3));
}

INSTANTIATE_TEST_SUITE_P(
    Exchange, LocalReplies,
    ::testing::Values(
        local_case{"status_page", "GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n",
                   "HTTP/1.1 200 OK", "Use it as a proxy"},
        local_case{"options",
                   "OPTIONS http://o.test/ HTTP/1.1\r\nHost: o.test\r\nMax-Forwards: 0\r\n\r\n",
                   "HTTP/1.1 200 OK", "Allow: GET"},
        local_case{"trace",
                   "TRACE http://o.test/ HTTP/1.1\r\nHost: o.test\r\nMax-Forwards: 0\r\nCookie: "
                   "c=1\r\n\r\n",
                   "HTTP/1.1 200 OK", "message/http"},
        local_case{"malformed", "GET http://o.test/ HTTP/1.1\r\nHost o.test\r\n\r\n",
                   "HTTP/1.1 400 Bad Request", "ferry: "},
        local_case{"bare_lf", "GET http://o.test/ HTTP/1.1\nHost: o.test\n\n",
                   "HTTP/1.1 400 Bad Request", "not ended by CRLF"},
        local_case{"version", "GET http://o.test/ HTTP/2.0\r\nHost: o.test\r\n\r\n",
                   "HTTP/1.1 505 HTTP Version Not Supported", "ferry: "},
        local_case{"target_too_long",
                   "GET http://o.test/" + std::string(9000, 'a') +
                       " HTTP/1.1\r\nHost: o.test\r\n\r\n",
                   "HTTP/1.1 414 URI Too Long", "request-target too long"},
        local_case{"head_too_large",
                   "GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\nX: " + std::string(70000, 'a') +
                       "\r\n\r\n",
                   "HTTP/1.1 431 Request Header Fields Too Large", "too large"},
        local_case{"connect_port", "CONNECT o.test:25 HTTP/1.1\r\nHost: o.test:25\r\n\r\n",
                   "HTTP/1.1 403 Forbidden", "port 25"},
        local_case{"te_unknown",
                   "POST http://o.test/ HTTP/1.1\r\nHost: o.test\r\nTransfer-Encoding: gzip, "
                   "chunked\r\n\r\n",
                   "HTTP/1.1 501 Not Implemented", "ferry: "}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Exchange, AConnectFailureIsA502NamingTheCause) {
    test_host h;
    h.connect_failure = core::error{core::errc::connect_failed,
                                    "ferry: cannot connect to o.test:80 (Connection refused)"};
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 502 Bad Gateway");
    EXPECT_TRUE(c.received.ends_with("ferry: cannot connect to o.test:80 (Connection refused)\n"));
    EXPECT_EQ(h.records.at(0).cause, "ferry: cannot connect to o.test:80 (Connection refused)");
}

TEST(Exchange, AConnectTimeoutIsA504) {
    test_host h;
    h.connect_failure = core::error{core::errc::connect_timeout, "ferry: timed out connecting"};
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 504 Gateway Timeout");
}

TEST(Exchange, AnOriginThatClosesWithoutAnsweringIsA502) {
    test_host h;
    origin_script hang_up;
    hang_up.close_after = true; // no answers: closes once it has the request
    h.origins.push_back(hang_up);
    auto c = h.connect_client();
    c.send("POST http://o.test/ HTTP/1.1\r\nHost: o.test\r\nContent-Length: 0\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 502 Bad Gateway");
    EXPECT_NE(c.received.find("closed the connection without a response"), std::string::npos);
}

TEST(Exchange, AMalformedResponseIsA502) {
    test_host h;
    h.origins.push_back({{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"}});
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 502 Bad Gateway");
}

TEST(Exchange, ABodyCutShortUpstreamIsNeverPassedOffAsComplete) {
    test_host h;
    origin_script cut;
    cut.answers = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"};
    cut.close_after = true;
    h.origins.push_back(cut);
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.settle();
    EXPECT_TRUE(c.read()); // ferry closed the client connection mid-message
    EXPECT_TRUE(c.received.ends_with("only part")) << c.received;
    EXPECT_NE(h.records.at(0).cause.find("in the middle of the response"), std::string::npos);
}

TEST(Exchange, AccessRulesDenyWithA403NamingTheRule) {
    config::settings s;
    config::acl_rule deny;
    deny.action = config::acl_rule::verdict::deny;
    deny.name = "no-o";
    deny.destinations.push_back({config::direct_rule::kind::suffix, "o.test", "", 0});
    s.acl.push_back(deny);
    config::acl_rule allow;
    s.acl.push_back(allow);
    test_host h(s);
    auto c = h.connect_client();
    c.send("GET http://www.o.test/ HTTP/1.1\r\nHost: www.o.test\r\n\r\n");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 403 Forbidden");
    EXPECT_NE(c.received.find("no-o"), std::string::npos) << c.received;
    EXPECT_TRUE(h.connects.empty());
}

// Deadlines, with the clock moved by the test.

TEST(ExchangeDeadlines, AHeadNotCompletedInTimeIs408) {
    config::settings s;
    s.header_timeout = 3s;
    test_host h(s);
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.t");
    h.advance(2800ms);
    EXPECT_FALSE(c.read());
    EXPECT_TRUE(c.received.empty());
    h.advance(400ms);
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 408 Request Timeout");
    EXPECT_NE(c.received.find("not received within 3s"), std::string::npos);
}

TEST(ExchangeDeadlines, AnOriginThatNeverAnswersIs504AfterTheResponseTimeout) {
    config::settings s;
    s.response_timeout = 5s;
    test_host h(s);
    h.origins.push_back({}); // reads, never answers
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.advance(4800ms);
    c.read();
    EXPECT_TRUE(c.received.empty());
    h.advance(400ms);
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 504 Gateway Timeout");
    EXPECT_NE(c.received.find("no response from o.test:80 within 5s"), std::string::npos);
}

TEST(ExchangeDeadlines, TheResponseIsNotLateWhileTheBodyIsStillUploading) {
    config::settings s;
    s.response_timeout = 2s;
    s.idle_timeout = 10s;
    test_host h(s);
    h.origins.push_back({{ok_hello}});
    auto c = h.connect_client();
    c.send("POST http://o.test/ HTTP/1.1\r\nHost: o.test\r\nContent-Length: 4\r\n\r\nab");
    h.advance(1s);
    h.advance(1s);
    h.advance(1s); // past the response timeout, but the upload is still going on
    c.read();
    EXPECT_TRUE(c.received.empty()) << c.received;
    c.send("cd");
    h.settle();
    c.read();
    EXPECT_EQ(status_line(c.received), "HTTP/1.1 200 OK");
}

TEST(ExchangeDeadlines, AnIdleKeepAliveClientIsClosedQuietly) {
    config::settings s;
    s.idle_timeout = 5s;
    test_host h(s);
    h.origins.push_back({{ok_hello}});
    auto c = h.connect_client();
    c.send("GET http://o.test/ HTTP/1.1\r\nHost: o.test\r\n\r\n");
    h.settle();
    EXPECT_FALSE(c.read());
    h.advance(4800ms);
    EXPECT_FALSE(c.read());
    h.advance(600ms);
    EXPECT_TRUE(c.read()); // closed, with nothing more said
    EXPECT_EQ(count(c.received, "HTTP/1.1"), 1u);
    c.end->close(); // the client closes too: ferry's graceful close ends
    h.settle();
    EXPECT_TRUE(*c.done);
    EXPECT_EQ(h.open_connections(), 0);
}

} // namespace
} // namespace ferry::testing
