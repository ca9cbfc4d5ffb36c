// Hostile TLS clients on raw sockets (issue 14 §2), against ferry's HTTPS listener with
// tls_handshake_timeout = 1 s: a client that sends nothing, or half a ClientHello, is closed
// at the deadline; garbage is closed at once; a plain HTTP request gets nginx's answer, a
// 400 in plain text, then the close; TLS 1.0 and 1.1 are refused (RFC 8996); a client's
// renegotiation is refused; a flood of a few hundred half-open handshakes costs bounded
// memory while another client is served promptly. Each failure is counted in /metrics by
// its reason and named on stderr with the client's address.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/proc_status.h"
#include "support/socket_io.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <regex>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// The start of a ClientHello: a handshake record announcing 512 bytes, of which this is the
// first 43 (handshake header, version, random): ferry must wait for the rest.
std::string half_client_hello() {
    std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    hello += std::string(32, '\x2a');
    return hello;
}

class HttpsHostile : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(files.ok()) << files.error();
        auto args = files.https_args();
        args.insert(args.end(), {"--tls-handshake-timeout", handshake_timeout, "--admin-listen",
                                 "127.0.0.1:0"});
        ferry = std::make_unique<ferry_process>(args, false);
        ASSERT_TRUE(ferry->started()) << ferry->err();
    }

    double failures(const std::string& reason) const {
        return fetch_metric(
            admin_port(*ferry),
            fmt::format("ferry_tls_handshake_failures_total{{reason=\"{}\"}}", reason));
    }

    // The stderr lines for `reason` ("ferry: TLS handshake from ADDR failed: REASON", perhaps
    // followed by OpenSSL's words or a count of lines left out).
    long lines(const std::string& reason) const {
        const std::regex line("ferry: TLS handshake from 127\\.0\\.0\\.1:[0-9]+ failed: " + reason +
                              "[ \n]");
        const auto err = ferry->err();
        return std::distance(std::sregex_iterator(err.begin(), err.end(), line),
                             std::sregex_iterator());
    }

    // `n` failures for `reason` are counted, and as many stderr lines name them.
    void expect_failures(const std::string& reason, int n) {
        EXPECT_TRUE(eventually([&] { return failures(reason) == n; }))
            << reason << ": " << failures(reason) << " counted, " << n << " expected\n"
            << tail(ferry->err());
        EXPECT_TRUE(eventually([&] { return lines(reason) == n; }))
            << lines(reason) << " lines for " << reason << ", " << n << " expected\n"
            << tail(ferry->err());
    }

    // A curl GET through the proxy; true on a 200 within `limit`.
    bool served(const test_origin& origin, std::chrono::seconds limit = 10s) const {
        auto argv = without_proxy_environment();
        argv.insert(argv.end(), {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                 "--max-time", std::to_string(limit.count()), "--proxy",
                                 fmt::format("https://127.0.0.1:{}", ferry->port()),
                                 "--proxy-cacert", files.ca(), origin.url("/")});
        return run_program(argv, limit + 5s).out == "200";
    }

    // openssl s_client against ferry with `options`, stdin from `input` (a shell command);
    // everything it printed.
    std::string s_client(const std::string& options, const std::string& input = "true") const {
        return run_program({"sh", "-c",
                            fmt::format("({}) | timeout 10 openssl s_client -connect 127.0.0.1:{} "
                                        "-CAfile '{}' {} 2>&1",
                                        input, ferry->port(), files.ca(), options)},
                           20s)
            .out;
    }

    std::string handshake_timeout = "1";
    tls_files files;
    std::unique_ptr<ferry_process> ferry;
};

// The flood's ferry waits 3 s for a handshake, so that a client served while the flood is
// pending is plainly not one served after the flood's deadline freed ferry.
class HttpsHostileFlood : public HttpsHostile {
protected:
    HttpsHostileFlood() { handshake_timeout = "3"; }
};

// Seconds from now until the peer closes `s` (or 10, when it does not).
double seconds_until_closed(tcp_stream& s) {
    const auto start = std::chrono::steady_clock::now();
    if (!s.peer_closed(10s)) return 10;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_F(HttpsHostile, SilentAndHalfHelloClientsAreClosedAtTheHandshakeDeadline) {
    auto silent = tcp_stream::connect_to(ferry->port());
    auto half = tcp_stream::connect_to(ferry->port());
    ASSERT_TRUE(silent.ok() && half.ok());
    ASSERT_TRUE(half.send_all(half_client_hello()));
    const double silent_after = seconds_until_closed(silent);
    const double half_after = seconds_until_closed(half);
    // The deadline is 1 s; ferry's deadline ticker has 200 ms of precision.
    EXPECT_GT(silent_after, 0.7);
    EXPECT_LT(silent_after, 3.0);
    EXPECT_LT(half_after, 3.0);
    expect_failures("timeout", 2);
}

TEST_F(HttpsHostile, GarbageInsteadOfAClientHelloIsClosedAtOnce) {
    auto s = tcp_stream::connect_to(ferry->port());
    ASSERT_TRUE(
        s.send_all(std::string("\x00\x00\x00\x01\xff\xfe\x80garbage, not TLS\r\n\r\n", 26)));
    EXPECT_LT(seconds_until_closed(s), 0.7) << "garbage must not wait for the handshake deadline";
    expect_failures("not_tls", 1);
}

TEST_F(HttpsHostile, APlainHttpRequestGetsAClear400AndTheClose) {
    auto s = tcp_stream::connect_to(ferry->port());
    ASSERT_TRUE(s.send_all("GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const auto response = s.read_until_close(5s);
    EXPECT_EQ(response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << printable(response);
    EXPECT_EQ(std::string(body_of(response)), "ferry: plain HTTP request sent to the HTTPS port\n")
        << printable(response);
    EXPECT_EQ(header_value(head_of(response), "Content-Type").rfind("text/plain", 0), 0u)
        << printable(response);
    EXPECT_EQ(header_value(head_of(response), "Connection"), "close") << printable(response);
    expect_failures("plain_http", 1);
}

TEST_F(HttpsHostile, Tls10And11AreRefused) {
    // Debian's OpenSSL offers them only at security level 0: the refusal is ferry's.
    for (const char* version : {"-tls1", "-tls1_1"}) {
        const auto out = s_client(std::string(version) + " -cipher 'DEFAULT:@SECLEVEL=0'");
        EXPECT_NE(out.find("alert protocol version"), std::string::npos)
            << version << " was not refused by the server:\n"
            << out;
        EXPECT_NE(out.find("no peer certificate available"), std::string::npos) << out;
    }
    const auto modern = s_client("-tls1_2");
    EXPECT_NE(modern.find("Verify return code: 0 (ok)"), std::string::npos) << modern;
    expect_failures("version", 2);
}

TEST_F(HttpsHostile, AClientsRenegotiationIsRefused) {
    // s_client renegotiates when it reads "R" at the start of a line (TLS 1.2: 1.3 has none);
    // -msg shows the records: the new ClientHello is answered with the no_renegotiation
    // alert, never a ServerHello.
    const auto out = s_client("-tls1_2 -msg", "sleep 1; echo R; sleep 2");
    ASSERT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
    const auto attempt = out.find("RENEGOTIATING");
    ASSERT_NE(attempt, std::string::npos) << out;
    const auto after = out.substr(attempt);
    EXPECT_NE(after.find("<<< TLS 1.2, Alert [length 0002], warning no_renegotiation"),
              std::string::npos)
        << after;
    EXPECT_EQ(after.find("ServerHello"), std::string::npos) << "a second handshake:\n" << after;
    test_origin origin;
    EXPECT_TRUE(served(origin)) << "ferry serves on after the attempt\n" << tail(ferry->err());
}

TEST_F(HttpsHostileFlood, HalfOpenHandshakesCostBoundedMemoryAndStallNoOne) {
    constexpr int flood = 300;
    test_origin origin;
    ASSERT_TRUE(served(origin)); // warmed up: the first handshake's allocations are made
    const long before = rss_kib(ferry->pid());
    std::vector<tcp_stream> half_open;
    for (int i = 0; i < flood; ++i) {
        half_open.push_back(tcp_stream::connect_to(ferry->port()));
        ASSERT_TRUE(half_open.back().ok()) << i;
        ASSERT_TRUE(half_open.back().send_all(half_client_hello())) << i;
    }
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(served(origin, 5s)) << "a client behind the flood was not served";
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 2500ms) << "the served client waited for the flood's deadline";
    const long during = rss_kib(ferry->pid());
    std::printf("RSS grew %ld KiB with %d half-open handshakes; a client was served in %lld ms\n",
                during - before, flood,
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    if (!built_with_asan()) {
        // OpenSSL's state for a handshake in progress is a few KiB with a 16 KiB read buffer.
        EXPECT_LT(during - before, flood * 64) << "KiB grown for " << flood << " half-open";
    }
    for (auto& s : half_open)
        EXPECT_LT(seconds_until_closed(s), 6.0) << "a half-open handshake outlived its deadline";
    EXPECT_TRUE(eventually([&] { return failures("timeout") == flood; }))
        << failures("timeout") << " counted";
    // A flood does not flood the log: ferry writes at most 20 such lines a second per worker.
    EXPECT_GT(lines("timeout"), 0);
    EXPECT_LE(lines("timeout"), 2 * 20 * 3) << tail(ferry->err());
    EXPECT_GE(fetch_metric(admin_port(*ferry), "ferry_tls_handshakes_total"), 2);
}
