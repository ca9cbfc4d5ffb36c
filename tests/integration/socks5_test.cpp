// The SOCKS5 front end (RFC 1928, RFC 1929) through the real binary: curl with
// --socks5-hostname, raw sockets for every malformed message (each gets its reply or a
// close, and never stalls another client), the reply codes a failure gets, username and
// password against the htpasswd file and in [[acl]] rules, --socks-ports, the access log,
// --socks5-on-http and the tunnel idle timeout. (Real clients at length — curl variants,
// ssh, git, Chromium, PySocks — are socks5_clients_test.cpp's.)
#include "support/admin_client.h"
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/test_dns.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

using namespace ferry_test;

namespace {

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list)
        s += char(b);
    return s;
}

const std::string no_auth = bytes({5, 1, 0});

std::string connect_name(const std::string& name, int port, int cmd = 1) {
    return bytes({5, cmd, 0, 3, int(name.size())}) + name + bytes({port >> 8, port & 0xff});
}

std::string connect_v4(int port) { // 127.0.0.1
    return bytes({5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff});
}

std::string failure(int code) {
    return bytes({5, code, 0, 1, 0, 0, 0, 0, 0, 0});
}

// Sends `first`, expects the method choice `method`, then sends `request`; the 10-byte reply.
std::string reply_to(int port, const std::string& request, const std::string& first = no_auth) {
    auto s = tcp_stream::connect_to(port);
    if (!s.ok() || !s.send_all(first)) return "no connection";
    if (s.read_exact(2) != bytes({5, first.size() > 2 ? first[2] : 0})) return "no method";
    if (!s.send_all(request)) return "not sent";
    return s.read_exact(10);
}

std::string socks_url(const ferry_process& ferry, const std::string& userinfo = "") {
    return fmt::format("socks5h://{}127.0.0.1:{}", userinfo, ferry.port());
}

// One ferry with a SOCKS5 listener, for the tests that need nothing else.
class Socks5 : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ferry_ = new ferry_process({"--listen", "socks5://127.0.0.1:0", "--header-timeout", "2",
                                    "--connect-timeout", "3", "--admin-listen", "127.0.0.1:0"},
                                   false);
    }
    static void TearDownTestSuite() {
        delete ferry_;
        ferry_ = nullptr;
    }
    void SetUp() override { ASSERT_TRUE(ferry_->started()) << ferry_->err(); }
    static ferry_process* ferry_;
};
ferry_process* Socks5::ferry_ = nullptr;

TEST_F(Socks5, CurlSocks5HostnameGetsThroughAndTheAccessLogSaysSocks5) {
    test_origin origin;
    {
        curl_client client; // closed at the end of the block: the tunnel ends, its line is due
        const auto url = fmt::format("http://socks.localhost:{}/size/1000", origin.port());
        auto r = client.perform({.url = url, .proxy = socks_url(*ferry_), .keep_body = false});
        ASSERT_EQ(r.code, CURLE_OK);
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body_hash, hash_pattern(1000));
    }
    const auto target = fmt::format("socks.localhost:{}", origin.port());
    const auto line = wait_for_line(*ferry_, {"SOCKS5 " + target, " 200 "});
    EXPECT_FALSE(line.empty()) << ferry_->out();
    // Counted under its own method on /metrics, not "other".
    const int admin = admin_port(*ferry_);
    ASSERT_NE(admin, 0) << ferry_->out();
    EXPECT_GE(fetch_metric(admin, R"(ferry_requests_total{method="SOCKS5",code="2xx"})"), 1)
        << admin_get(admin, "GET /metrics HTTP/1.1");
}

TEST_F(Socks5, TheSuccessReplyCarriesTheUpstreamSocketsAddress) {
    test_origin origin;
    auto s = tcp_stream::connect_to(ferry_->port());
    ASSERT_TRUE(s.send_all(no_auth + connect_v4(origin.port()) +
                           "GET /size/5 HTTP/1.1\r\n"
                           "Host: x\r\n\r\n"));
    ASSERT_EQ(s.read_exact(2), bytes({5, 0}));
    const auto reply = s.read_exact(10);
    ASSERT_EQ(reply.size(), 10u);
    EXPECT_EQ(reply.substr(0, 8), bytes({5, 0, 0, 1, 127, 0, 0, 1}));
    EXPECT_NE(reply.substr(8), bytes({0, 0})) << "BND.PORT is the upstream socket's port";
    // The bytes sent behind the request went first, through the tunnel.
    const auto response = s.read_response();
    EXPECT_EQ(status_of(response), 200) << printable(response);
    EXPECT_EQ(std::string(body_of(response)), pattern(5));
}

TEST_F(Socks5, AnIPv6DestinationGetsAnIPv6Bound) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no usable ::1 on this machine";
    test_origin origin({}, true);
    auto s = tcp_stream::connect_to(ferry_->port());
    const int p = origin.port();
    ASSERT_TRUE(s.send_all(no_auth + bytes({5, 1, 0, 4, 0, 0, 0, 0, 0, 0,      0,
                                            0, 0, 0, 0, 0, 0, 0, 0, 1, p >> 8, p & 0xff})));
    ASSERT_EQ(s.read_exact(2), bytes({5, 0}));
    const auto reply = s.read_exact(22);
    ASSERT_EQ(reply.size(), 22u) << printable(reply);
    EXPECT_EQ(reply.substr(0, 20),
              bytes({5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    ASSERT_TRUE(s.send_all("GET /size/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(std::string(body_of(s.read_response())), pattern(3));
    s.close();
    EXPECT_FALSE(wait_for_line(*ferry_, {fmt::format("SOCKS5 [::1]:{}", p), " 200 "}).empty())
        << ferry_->out();
}

TEST_F(Socks5, FailuresGetTheirReplyCodes) {
    const int closed = unused_port();
    EXPECT_EQ(reply_to(ferry_->port(), connect_v4(closed)), failure(5)) << "connection refused";
    EXPECT_EQ(reply_to(ferry_->port(), connect_name("no-such-host.invalid", 80)), failure(4))
        << "host unreachable";
    // ferry itself is not a destination.
    EXPECT_EQ(reply_to(ferry_->port(), connect_v4(ferry_->port())), failure(2));
    const auto line = wait_for_line(*ferry_, {fmt::format("SOCKS5 127.0.0.1:{}", closed),
                                              "ferry: socks5: connection refused (reply 0x05)"});
    EXPECT_FALSE(line.empty()) << ferry_->out();
    EXPECT_NE(line.find(" 502 "), std::string::npos) << line;
    EXPECT_FALSE(wait_for_line(*ferry_, {"SOCKS5 no-such-host.invalid:80", " 502 ",
                                         "host unreachable (reply 0x04)"})
                     .empty())
        << ferry_->out();
}

TEST_F(Socks5, MalformedMessagesGetTheirReplyOrACloseAndNeverStallOthers) {
    // A client that stops half-way through its greeting holds nothing up.
    auto stalled = tcp_stream::connect_to(ferry_->port());
    ASSERT_TRUE(stalled.send_all(bytes({5, 2, 0})));
    struct one {
        const char* what;
        std::string send;
        std::string expect; // then ferry closes
    };
    const std::vector<one> cases{
        {"bad version", bytes({4, 1, 0, 80, 127, 0, 0, 1, 0}), ""},
        {"HTTP on the SOCKS port", "GET / HTTP/1.1\r\n\r\n", ""},
        {"zero methods", bytes({5, 0}), bytes({5, 0xff})},
        {"password only, no htpasswd", bytes({5, 1, 2}), bytes({5, 0xff})},
        {"bad request version", no_auth + bytes({4, 1, 0, 1, 127, 0, 0, 1, 0, 80}), bytes({5, 0})},
        {"BIND", no_auth + connect_name("socks.localhost", 80, 2), bytes({5, 0}) + failure(7)},
        {"UDP ASSOCIATE", no_auth + bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0}),
         bytes({5, 0}) + failure(7)},
        {"unknown command", no_auth + connect_name("socks.localhost", 80, 9),
         bytes({5, 0}) + failure(7)},
        {"unknown address type", no_auth + bytes({5, 1, 0, 2, 1, 2, 3, 4, 0, 80}),
         bytes({5, 0}) + failure(8)},
        {"empty name", no_auth + connect_name("", 80), bytes({5, 0}) + failure(4)},
        {"name with a space", no_auth + connect_name("a b.localhost", 80),
         bytes({5, 0}) + failure(4)},
        {"name with a NUL", no_auth + connect_name(std::string("a\0b", 3), 80),
         bytes({5, 0}) + failure(4)},
        {"name with a slash", no_auth + connect_name("a/b", 80), bytes({5, 0}) + failure(4)},
        {"truncated greeting", bytes({5, 3, 0}), ""},
        {"truncated request", no_auth + bytes({5, 1, 0, 3, 20, 'a', 'b'}), bytes({5, 0})},
        {"truncated IPv6 request", no_auth + bytes({5, 1, 0, 4, 0, 0, 0}), bytes({5, 0})},
    };
    test_origin origin;
    curl_client client;
    for (const auto& c : cases) {
        auto s = tcp_stream::connect_to(ferry_->port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send_all(c.send));
        // A truncated message is closed when the client gives up (here: ends its stream).
        if (std::string_view(c.what).starts_with("truncated")) s.shutdown_write();
        EXPECT_EQ(printable(s.read_until_close(3s)), printable(c.expect)) << c.what;
        // Meanwhile another client is served at once.
        auto r = client.perform(
            {.url = origin.url("/size/10"), .proxy = socks_url(*ferry_), .timeout_ms = 2000});
        EXPECT_EQ(r.code, CURLE_OK) << c.what;
    }
    // The stalled client is closed at the header timeout (2 s), unanswered.
    EXPECT_EQ(stalled.read_until_close(4s), "");
}

TEST_F(Socks5, AnOversizedNameIsAFailureReplyNotAStall) {
    // The name's length is one byte: 255 is the most a client can say, longer than any DNS
    // name (253), with a label over 63. It gets a failure reply at once (".invalid": ferry
    // asks no DNS server about it).
    std::string name(200, 'a'); // appended, not added: GCC 12 -O3 warns falsely on the sum
    name += '.';
    name.append(46, 'b');
    name += ".invalid";
    ASSERT_EQ(name.size(), 255u);
    const auto reply = reply_to(ferry_->port(), connect_name(name, 80));
    ASSERT_EQ(reply.size(), 10u) << printable(reply);
    EXPECT_EQ(reply[0], 5);
    EXPECT_TRUE(reply[1] == 1 || reply[1] == 4) << int(reply[1]);
}

TEST(Socks5Timeouts, ADnsServerThatNeverAnswersIsTtlExpired) {
    // A connect timeout needs a destination that drops SYNs, which loopback has not; a DNS
    // server that never answers gives the same reply deterministically (and the mapping of
    // connect_timeout itself is unit-tested: Socks5Replies).
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    ferry_process ferry({"--listen", "socks5://127.0.0.1:0", "--dns-server", dns.server_arg(),
                         "--dns-timeout", "1", "--connect-timeout", "1"},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(reply_to(ferry.port(), connect_name("silent.ferry-test.example", 443)), failure(6));
    EXPECT_FALSE(wait_for_line(ferry, {"SOCKS5 silent.ferry-test.example:443", " 504 ",
                                       "TTL expired (reply 0x06)"})
                     .empty())
        << ferry.out();
}

// ---- with access rules, users and ports ----

bool tools_present() {
    return !shell_output("command -v openssl").empty();
}

std::string users_file_text() {
    return "alice:" + shell_output("openssl passwd -5 'alice-pass'") + "\n";
}

struct configured {
    explicit configured(const std::string& toml, std::vector<std::string> more = {})
        : users(users_file_text()),
          config(fmt::format("[auth]\nhtpasswd = \"{}\"\n", users.path()) + toml),
          process(args(more), false) {}
    std::vector<std::string> args(std::vector<std::string> more) {
        std::vector<std::string> a{"--config", config.path(), "--listen", "socks5://127.0.0.1:0"};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
    temp_file users;
    temp_file config;
    ferry_process process;
};

std::string with_password(const std::string& user, const std::string& password) {
    return bytes({1, int(user.size())}) + user + char(password.size()) + password;
}

TEST(Socks5Auth, TheRightPasswordOpensTheTunnelAndNamesTheUser) {
    if (!tools_present()) GTEST_SKIP() << "openssl missing (it makes the htpasswd hash)";
    test_origin origin;
    configured f("[[acl]]\naction = \"allow\"\nusers = [\"alice\"]\n");
    ASSERT_TRUE(f.process.started()) << f.process.err();
    // curl sends RFC 1929 credentials from the proxy URL.
    {
        curl_client client; // closed at the end of the block: the tunnel ends, its line is due
        auto r =
            client.perform({.url = fmt::format("http://socks.localhost:{}/size/100", origin.port()),
                            .proxy = socks_url(f.process, "alice:alice-pass@"),
                            .keep_body = false});
        ASSERT_EQ(r.code, CURLE_OK);
        EXPECT_EQ(r.status, 200);
    }
    EXPECT_FALSE(
        wait_for_line(f.process, {"user=\"alice\"", "SOCKS5 socks.localhost:", " 200 "}).empty())
        << f.process.out();

    // The wrong password: RFC 1929 failure, then closed; the stderr line fail2ban reads.
    auto s = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(s.send_all(bytes({5, 2, 0, 2}) + with_password("alice", "wrong")));
    EXPECT_EQ(s.read_until_close(3s), bytes({5, 2, 1, 1}));
    // Offering no authentication where every rule needs a user: no acceptable method.
    auto n = tcp_stream::connect_to(f.process.port());
    ASSERT_TRUE(n.send_all(no_auth));
    EXPECT_EQ(n.read_until_close(3s), bytes({5, 0xff}));
    // The line is written after the reply: wait for it rather than read stderr at once.
    EXPECT_TRUE(eventually([&] {
        return f.process.err().find("ferry: auth failed for user \"alice\"") != std::string::npos;
    })) << f.process.err();
}

TEST(Socks5Auth, RulesDenyPortsAndDestinationsWithReply2) {
    if (!tools_present()) GTEST_SKIP() << "openssl missing (it makes the htpasswd hash)";
    test_origin origin;
    configured f("[[acl]]\naction = \"deny\"\ndest = [\".blocked.localhost\"]\n"
                 "[[acl]]\naction = \"allow\"\n",
                 {"--socks-ports", fmt::format("{},443", origin.port())});
    ASSERT_TRUE(f.process.started()) << f.process.err();
    // No user needed by the rules that allow: no authentication is accepted.
    EXPECT_EQ(reply_to(f.process.port(), connect_name("x.blocked.localhost", origin.port())),
              failure(2));
    EXPECT_EQ(
        reply_to(f.process.port(), connect_name("ok.localhost", origin.port() == 80 ? 81 : 80)),
        failure(2))
        << "--socks-ports";
    EXPECT_EQ(reply_to(f.process.port(), connect_name("ok.localhost", origin.port())).substr(0, 2),
              bytes({5, 0}));
    EXPECT_FALSE(wait_for_line(f.process, {"SOCKS5 x.blocked.localhost:", " 403 ",
                                           "(reply 0x02): denied by access rule 1"})
                     .empty())
        << f.process.out();
    EXPECT_EQ(origin.connections(), 1);
}

// ---- on an http:// listener, and the tunnel idle timeout ----

TEST(Socks5OnHttp, AConnectionStartingWith5IsServedAsSocks5) {
    test_origin origin;
    ferry_process ferry({"--socks5-on-http", "on", "--tunnel-idle-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/size/10"), .proxy = socks_url(ferry)});
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    auto h = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    EXPECT_EQ(h.code, CURLE_OK) << "HTTP still served";
    EXPECT_EQ(h.status, 200);
    // An idle tunnel is closed after --tunnel-idle-timeout, and logged so.
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(no_auth + connect_v4(origin.port())));
    ASSERT_EQ(s.read_exact(12).substr(0, 4), bytes({5, 0, 5, 0}));
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.peer_closed(4s));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_FALSE(wait_for_line(ferry, {"SOCKS5 127.0.0.1:", "idle"}).empty()) << ferry.out();
}

TEST(Socks5OnHttp, IsOffByDefault) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(no_auth));
    s.shutdown_write();
    const auto got = s.read_until_close(3s);
    EXPECT_EQ(got.find(bytes({5, 0})), std::string::npos) << printable(got);
}

} // namespace
