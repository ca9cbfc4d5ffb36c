// What a client sees when ferry cannot get it an answer: 502 when the origin refuses or its
// name cannot be resolved, 504 when it stays silent, 400 for https:// in absolute-form (that
// needs CONNECT), 403 for CONNECT to a port not allowed. Every such answer is ferry's own, with
// a one-line text body naming the cause, and the access-log line carries the same cause.
// Names are never resolved through the machine's resolver: `.invalid` is answered by ferry
// itself (RFC 6761 §6.4).
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/requests.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

using namespace ferry_test;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// ferry's own error body: one line, ending in a newline, naming the cause.
void expect_one_line_cause(const std::string& body, const std::string& names) {
    ASSERT_FALSE(body.empty());
    EXPECT_EQ(body.back(), '\n') << body;
    EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << body;
    EXPECT_NE(body.find(names), std::string::npos)
        << "body does not name " << names << ": " << body;
}

// The access-log line for `target` with `status` carries the body's cause in quotes.
void expect_logged_cause(const ferry_process& ferry, const std::string& target, int status,
                         const std::string& body) {
    auto cause = body.substr(0, body.find('\n'));
    auto line = wait_for_line(ferry, {" " + target + " ", fmt::format(" {} ", status)});
    ASSERT_FALSE(line.empty()) << "no access-log line for " << target << " in:\n" << ferry.out();
    EXPECT_NE(line.find("\"" + cause + "\""), std::string::npos)
        << "access-log line does not carry the cause \"" << cause << "\": " << line;
}

// An origin that reads the request and then never answers, until ferry gives up.
void silent_handler(origin_connection& c) {
    if (c.read_head().empty()) return;
    c.stream.read_until_close(15s);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST(Errors, RefusedConnectionIs502NamingTheOrigin) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = unused_port();
    const auto url = fmt::format("http://127.0.0.1:{}/nothing-listens", port);
    curl_client client;
    auto r = client.perform({.url = url, .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 502);
    expect_one_line_cause(r.body, fmt::format("127.0.0.1:{}", port));
    EXPECT_NE(lower(r.body).find("refused"), std::string::npos) << r.body;
    EXPECT_NE(lower(r.headers).find("content-type: text/plain"), std::string::npos) << r.headers;
    expect_logged_cause(ferry, url, 502, r.body);
}

TEST(Errors, UnresolvableNameIs502NamingTheHost) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const std::string url = "http://no-such-host.invalid/page";
    curl_client client;
    auto started = std::chrono::steady_clock::now();
    auto r = client.perform({.url = url, .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 502);
    expect_one_line_cause(r.body, "no-such-host.invalid");
    // .invalid never resolves (RFC 6761 §6.4): no DNS round trip, no waiting.
    EXPECT_LT(seconds_since(started), 2.0);
    expect_logged_cause(ferry, url, 502, r.body);
}

TEST(Errors, UnresolvableNameInOriginFormHostIs502) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("GET /x HTTP/1.1\r\nHost: www.no-such-host.invalid:8080\r\n\r\n"));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 502) << response;
    expect_one_line_cause(std::string(body_of(response)), "www.no-such-host.invalid");
}

TEST(Errors, SlowOriginIs504AfterTheResponseTimeout) {
    test_origin origin;
    ferry_process ferry({"--response-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = origin.url("/slow/2500");
    curl_client client;
    auto started = std::chrono::steady_clock::now();
    auto r = client.perform({.url = url, .proxy = ferry.proxy_url(), .timeout_ms = 10000});
    const double took = seconds_since(started);
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 504);
    EXPECT_GE(took, 0.8);
    EXPECT_LT(took, 4.0) << "504 should come about 1 s after the request";
    expect_one_line_cause(r.body, origin.authority());
    expect_logged_cause(ferry, url, 504, r.body);
}

TEST(Errors, OriginThatNeverAnswersIs504) {
    test_origin origin(silent_handler);
    ferry_process ferry({"--response-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = origin.url("/never");
    curl_client client;
    auto started = std::chrono::steady_clock::now();
    auto r = client.perform({.url = url, .proxy = ferry.proxy_url(), .timeout_ms = 10000});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 504);
    EXPECT_LT(seconds_since(started), 4.0);
    expect_one_line_cause(r.body, origin.authority());
    expect_logged_cause(ferry, url, 504, r.body);
    EXPECT_EQ(origin.connections(), 1);
}

TEST(Errors, HttpsInAbsoluteFormIs400SayingToUseConnect) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const auto target = fmt::format("https://{}/secret", origin.authority());
    ASSERT_TRUE(
        s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", target, origin.authority())));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 400) << response;
    expect_one_line_cause(std::string(body_of(response)), "CONNECT");
    expect_logged_cause(ferry, target, 400, std::string(body_of(response)));
    EXPECT_EQ(origin.connections(), 0) << "nothing of an https:// request goes out in clear";
}

TEST(Errors, ConnectToAPortNotAllowedIs403) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(
        s.send_all(fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority())));
    auto response = s.read_response(5s);
    EXPECT_EQ(status_of(response), 403) << response; // only 443 by default
    expect_one_line_cause(std::string(body_of(response)), "CONNECT");
    expect_logged_cause(ferry, origin.authority(), 403, std::string(body_of(response)));
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Errors, OriginClosingWithoutAResponseIs502) {
    test_origin origin([](origin_connection& c) { c.read_head(); });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = origin.url("/hang-up");
    curl_client client;
    auto r = client.perform({.url = url, .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 502);
    expect_one_line_cause(r.body, origin.authority());
    expect_logged_cause(ferry, url, 502, r.body);
}

TEST(Errors, ResponseCutShortIsNeverPassedOffAsComplete) {
    // Content-Length promises 1000 bytes, the origin sends 400 and closes: the client must
    // be able to tell (RFC 9112 §8), so ferry closes without completing the message.
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + pattern(400));
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/cut"), .proxy = ferry.proxy_url()});
    EXPECT_NE(r.code, CURLE_OK) << "a truncated body reached the client as if complete";
    EXPECT_EQ(r.body, pattern(400));
}

TEST(Errors, ChunkedResponseCutShortIsNeverPassedOffAsComplete) {
    test_origin origin([](origin_connection& c) {
        if (c.read_head().empty()) return;
        c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nwor");
    });
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto [head, rest, closed] = read_cut_response(ferry.port(), get(origin, "/cut"), 5s);
    ASSERT_EQ(status_of(head), 200) << head;
    EXPECT_TRUE(closed) << "ferry must close the client connection";
    EXPECT_EQ(rest.find("0\r\n\r\n"), std::string::npos)
        << "a last chunk completed a message the origin cut short: " << rest;
    curl_client client;
    auto r = client.perform({.url = origin.url("/cut"), .proxy = ferry.proxy_url()});
    EXPECT_NE(r.code, CURLE_OK) << "a truncated body reached curl as if complete";
}

TEST(Errors, AnErrorDoesNotStopTheNextRequestOnTheSameConnection) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto bad = client.perform({.url = "http://no-such-host.invalid/", .proxy = ferry.proxy_url()});
    EXPECT_EQ(bad.status, 502);
    auto refused = client.perform(
        {.url = fmt::format("http://127.0.0.1:{}/", unused_port()), .proxy = ferry.proxy_url()});
    EXPECT_EQ(refused.status, 502);
    auto good = client.perform({.url = origin.url("/size/5000"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(good.code, CURLE_OK);
    EXPECT_EQ(good.status, 200);
    EXPECT_EQ(good.body, pattern(5000));
}
