// What goes through CONNECT (issue 16, part 6): ferry reads the client's TLS ClientHello at
// the start of a tunnel without altering it, logs its server name, ALPN and ECH, counts it on
// /metrics, and with --tunnel-sni match|require, or access rules naming destinations, refuses
// a tunnel on it. Real clients (the curl and openssl CLIs) against a TLS origin
// (`openssl s_server`), and raw sockets writing hand-made hellos (split, oversized, not TLS)
// to an origin that records every byte it gets.
#include "support/admin_client.h"
#include "support/client_hello_bytes.h"
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/h2_python.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <memory>
#include <poll.h>
#include <sys/socket.h>
#include <thread>

using namespace ferry_test;
namespace hello = ferry::test;

namespace {

// The CA and a certificate for localhost and 127.0.0.1, made once for the suite.
class TunnelSni : public ::testing::Test {
protected:
    static void SetUpTestSuite() { files_ = std::make_unique<tls_files>(); }
    static void TearDownTestSuite() { files_.reset(); }
    static const tls_files& files() { return *files_; }

private:
    static inline std::unique_ptr<tls_files> files_;
};

// ferry with an admin listener, CONNECT to any port, and `more` options.
std::vector<std::string> ferry_args(std::vector<std::string> more) {
    std::vector<std::string> args{"--connect-ports", "any", "--admin-listen", "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// An origin that records what it reads and sends it back, until the client ends or resets
// (or is silent for 5 s). Whatever one read gives, sent back at once: a byte at a time was
// too slow for a 70 KiB hello under the sanitizers.
void echo(origin_connection& c) {
    char buffer[16 * 1024];
    for (;;) {
        pollfd ready{c.stream.fd(), POLLIN, 0};
        if (::poll(&ready, 1, 5000) <= 0) return;
        const auto n = ::recv(c.stream.fd(), buffer, sizeof buffer, 0);
        if (n <= 0) return;
        const std::string got(buffer, std::size_t(n));
        c.received += got;
        c.send(got);
    }
}

// An origin that speaks first (SMTP-like), then echoes.
void banner_then_echo(origin_connection& c) {
    c.send("220 origin ready\r\n");
    echo(c);
}

// A raw client's tunnel through ferry to 127.0.0.1:port (or `host`:port); ok() false when the
// CONNECT was not answered 200.
tcp_stream open_tunnel(const ferry_process& ferry, int port,
                       const std::string& host = "127.0.0.1") {
    auto s = tcp_stream::connect_to(ferry.port());
    const auto authority = host + ":" + std::to_string(port);
    if (!s.ok() ||
        !s.send_all("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"))
        return {};
    if (status_of(s.read_until("\r\n\r\n")) != 200) return {};
    return s;
}

// The access-log line of the tunnel to `authority`, once written ("" after 5 s).
std::string tunnel_line(const ferry_process& ferry, const std::string& authority) {
    std::string found;
    eventually([&] {
        const auto out = ferry.out();
        const auto at = out.find("CONNECT " + authority + " ");
        if (at == std::string::npos) return false;
        const auto start = out.rfind('\n', at);
        const auto end = out.find('\n', at);
        if (end == std::string::npos) return false;
        found = out.substr(start == std::string::npos ? 0 : start + 1,
                           end - (start == std::string::npos ? 0 : start + 1));
        return true;
    });
    return found;
}

double metric_now(const ferry_process& ferry, const std::string& sample) {
    return fetch_metric(admin_port(ferry), sample);
}

// Whether the metric reaches `value` (metrics are read from the workers while they run).
bool metric_becomes(const ferry_process& ferry, const std::string& sample, double value) {
    return eventually([&] { return metric_now(ferry, sample) == value; });
}

// The curl CLI through ferry to https://localhost:port/ca.pem, verifying the origin.
command_result curl_through(const ferry_process& ferry, const tls_files& files, int port,
                            const std::string& version_flag) {
    auto argv = without_proxy_environment();
    const std::vector<std::string> more{"curl",
                                        "-sS",
                                        "--max-time",
                                        "10",
                                        version_flag,
                                        "--proxy",
                                        ferry.proxy_url(),
                                        "--cacert",
                                        files.ca(),
                                        "https://localhost:" + std::to_string(port) + "/ca.pem"};
    argv.insert(argv.end(), more.begin(), more.end());
    return run_program(argv, 15s);
}

// `openssl s_client` through ferry's CONNECT to localhost:port, naming `servername` ("" for
// -noservername); exit code 0 when the handshake completed.
command_result s_client_through(const ferry_process& ferry, int port,
                                const std::string& servername) {
    std::vector<std::string> argv{"openssl",  "s_client",
                                  "-proxy",   "127.0.0.1:" + std::to_string(ferry.port()),
                                  "-connect", "localhost:" + std::to_string(port),
                                  "-brief"};
    if (servername.empty()) {
        argv.push_back("-noservername");
    } else {
        argv.push_back("-servername");
        argv.push_back(servername);
    }
    return run_program(argv, 15s);
}

} // namespace

TEST_F(TunnelSni, CurlLogsItsServerNameAndAlpnAndPassesMatch) {
    ASSERT_TRUE(files().ok()) << files().error();
    tls_web_origin origin(files());
    ASSERT_TRUE(origin.ready());
    ferry_process ferry(ferry_args({"--tunnel-sni", "match"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto authority = "localhost:" + std::to_string(origin.port());

    auto h2 = curl_through(ferry, files(), origin.port(), "--http2");
    ASSERT_EQ(h2.exit_code(), 0) << h2.err;
    EXPECT_NE(h2.out.find("BEGIN CERTIFICATE"), std::string::npos);
    auto line = tunnel_line(ferry, authority);
    EXPECT_NE(line.find(" 200 "), std::string::npos) << line;
    EXPECT_TRUE(line.ends_with(" sni=localhost alpn=h2,http/1.1")) << line;

    // The second tunnel's line comes after the first's.
    auto h1 = curl_through(ferry, files(), origin.port(), "--http1.1");
    ASSERT_EQ(h1.exit_code(), 0) << h1.err;
    ASSERT_TRUE(ferry.wait_for_out("sni=localhost alpn=http/1.1\n")) << ferry.out();

    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnels_tls_total{alpn=\"h2\",ech=\"no\"}", 1));
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnels_tls_total{alpn=\"http/1.1\",ech=\"no\"}", 1));
    EXPECT_EQ(metric_now(ferry, "ferry_tunnel_refusals_total{reason=\"sni_mismatch\"}"), 0);
}

TEST_F(TunnelSni, MismatchedServerNamePassesWithAnyAndIsRefusedWithMatch) {
    ASSERT_TRUE(files().ok()) << files().error();
    tls_web_origin origin(files());
    ASSERT_TRUE(origin.ready());
    const auto authority = "localhost:" + std::to_string(origin.port());
    {
        ferry_process ferry(ferry_args({}));
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto r = s_client_through(ferry, origin.port(), "other.test");
        EXPECT_EQ(r.exit_code(), 0) << r.err;
        EXPECT_NE(r.err.find("CONNECTION ESTABLISHED"), std::string::npos) << r.err;
        auto line = tunnel_line(ferry, authority);
        EXPECT_NE(line.find(" sni=other.test alpn=-"), std::string::npos) << line;
    }
    ferry_process ferry(ferry_args({"--tunnel-sni", "match", "--access-log-format", "json"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = s_client_through(ferry, origin.port(), "other.test");
    EXPECT_NE(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.err.find("CONNECTION ESTABLISHED"), std::string::npos) << r.err;
    ASSERT_TRUE(ferry.wait_for_out(R"("tunnel_tls":"hello","tls_sni":"other.test")"))
        << ferry.out();
    EXPECT_NE(
        ferry.out().find("\"cause\":\"ferry: tunnel refused: TLS server name other.test is not the "
                         "CONNECT host localhost (tunnel_sni = match)\""),
        std::string::npos)
        << ferry.out();
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnel_refusals_total{reason=\"sni_mismatch\"}", 1));
}

TEST_F(TunnelSni, AbsentServerNamePassesMatchAndIsRefusedByRequire) {
    ASSERT_TRUE(files().ok()) << files().error();
    tls_web_origin origin(files());
    ASSERT_TRUE(origin.ready());
    const auto authority = "localhost:" + std::to_string(origin.port());
    {
        ferry_process ferry(ferry_args({"--tunnel-sni", "match"}));
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto r = s_client_through(ferry, origin.port(), "");
        EXPECT_EQ(r.exit_code(), 0) << r.err;
        auto line = tunnel_line(ferry, authority);
        EXPECT_NE(line.find(" sni=- alpn=-"), std::string::npos) << line;
    }
    ferry_process ferry(ferry_args({"--tunnel-sni", "require"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = s_client_through(ferry, origin.port(), "");
    EXPECT_NE(r.exit_code(), 0) << r.err;
    auto line = tunnel_line(ferry, authority);
    EXPECT_NE(line.find("sni=- alpn=- \"ferry: tunnel refused: the TLS hello names no server "
                        "(tunnel_sni = require)\""),
              std::string::npos)
        << line;
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnel_refusals_total{reason=\"no_sni\"}", 1));
}

TEST_F(TunnelSni, NonTlsBytesPassWithAnyAndAreRefusedByRequire) {
    test_origin origin(echo);
    {
        ferry_process ferry(ferry_args({"--flow"}));
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = open_tunnel(ferry, origin.port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send_all("hello, not TLS\n"));
        EXPECT_EQ(s.read_exact(15), "hello, not TLS\n");
        s.close();
        ASSERT_TRUE(ferry.wait_for_out("CLI --- PRX ==> SRV\n > not TLS\n")) << ferry.out();
        EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnels_not_tls_total", 1));
        ASSERT_TRUE(origin.wait_closed(1));
    }
    ferry_process ferry(ferry_args({"--tunnel-sni", "require"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = open_tunnel(ferry, origin.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("GET / HTTP/1.1\r\n\r\n"));
    EXPECT_TRUE(s.peer_closed());
    auto line = tunnel_line(ferry, origin.authority());
    EXPECT_NE(line.find(" tls=no \"ferry: tunnel refused: not TLS: first byte 0x47 is not a TLS "
                        "handshake record (tunnel_sni = require)\""),
              std::string::npos)
        << line;
    // Nothing of the refused bytes reached the origin.
    ASSERT_TRUE(origin.wait_closed(2));
    EXPECT_EQ(origin.received(), "hello, not TLS\n");
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnel_refusals_total{reason=\"not_tls\"}", 1));
}

TEST_F(TunnelSni, HelloSplitOverRecordsAndSegmentsIsReadAndForwardedUnchanged) {
    test_origin origin(echo);
    ferry_process ferry(ferry_args({"--tunnel-sni", "match", "--flow"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    hello::hello_spec spec;
    spec.sni = "localhost";
    spec.alpn = {"h2"};
    spec.ech = true;
    const auto bytes = hello::client_hello_bytes(spec, 100); // records of 100 bytes
    auto s = open_tunnel(ferry, origin.port(), "localhost");
    ASSERT_TRUE(s.ok());
    // Five writes with pauses: ferry sees the hello arrive in pieces.
    const std::size_t piece = bytes.size() / 5 + 1;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        ASSERT_TRUE(s.send_all(std::string_view(bytes).substr(at, piece)));
        std::this_thread::sleep_for(50ms);
    }
    // Held until whole, then forwarded as it was: the origin echoes every byte back.
    EXPECT_EQ(s.read_exact(bytes.size()), bytes);
    s.close();
    ASSERT_TRUE(ferry.wait_for_out(" > TLS hello: sni=localhost alpn=h2 ech=yes\n")) << ferry.out();
    ASSERT_TRUE(origin.wait_closed(1));
    EXPECT_EQ(origin.received(), bytes);
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnels_tls_total{alpn=\"h2\",ech=\"yes\"}", 1));
}

TEST_F(TunnelSni, OversizedHelloPassesWithAnyAndIsLoggedSo) {
    test_origin origin(echo);
    ferry_process ferry(ferry_args({}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // 20 KiB of padding: two records, still read.
    hello::hello_spec padded;
    padded.padding = 20 * 1024;
    const auto twenty = hello::client_hello_bytes(padded);
    // 70 KiB: over ferry's 64 KiB cap.
    hello::hello_spec huge;
    huge.padding = 70 * 1024;
    const auto seventy = hello::client_hello_bytes(huge);
    for (const auto* bytes : {&twenty, &seventy}) {
        auto s = open_tunnel(ferry, origin.port());
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(s.send_all(*bytes));
        EXPECT_EQ(s.read_exact(bytes->size()).size(), bytes->size());
        s.close();
    }
    EXPECT_TRUE(ferry.wait_for_out(" sni=example.test alpn=h2,http/1.1\n")) << ferry.out();
    EXPECT_TRUE(ferry.wait_for_out(" tls=too_large\n")) << ferry.out();
    ASSERT_TRUE(origin.wait_closed(2));
    // The origin records each connection's bytes when it closes, and the first tunnel's
    // upstream side may close after the second's on a loaded machine: either order, each whole.
    const auto received = origin.received();
    EXPECT_TRUE(received == twenty + seventy || received == seventy + twenty)
        << received.size() << " bytes received, " << twenty.size() + seventy.size() << " sent";
    EXPECT_TRUE(
        metric_becomes(ferry, "ferry_tunnels_hello_unreadable_total{reason=\"too_large\"}", 1));
}

TEST_F(TunnelSni, AccessRulesJudgeTheServerName) {
    test_origin origin(echo);
    temp_file config("[[acl]]\nname = \"no-blocked\"\naction = \"deny\"\n"
                     "dest = [\".blocked.test\"]\n[[acl]]\naction = \"allow\"\n");
    ferry_process ferry(ferry_args({"--config", config.path()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    hello::hello_spec allowed;
    allowed.sni = "fine.test";
    auto ok = open_tunnel(ferry, origin.port());
    ASSERT_TRUE(ok.ok());
    const auto fine = hello::client_hello_bytes(allowed);
    ASSERT_TRUE(ok.send_all(fine));
    EXPECT_EQ(ok.read_exact(fine.size()), fine);
    ok.close();

    hello::hello_spec blocked;
    blocked.sni = "www.Blocked.test";
    auto s = open_tunnel(ferry, origin.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(hello::client_hello_bytes(blocked)));
    EXPECT_TRUE(s.peer_closed());
    ASSERT_TRUE(ferry.wait_for_out("sni=www.blocked.test alpn=h2,http/1.1 \"ferry: tunnel "
                                   "refused: TLS server name www.blocked.test: denied by access "
                                   "rule 1 (\\\"no-blocked\\\")\"\n"))
        << ferry.out();
    ASSERT_TRUE(origin.wait_closed(2));
    EXPECT_EQ(origin.received(), fine);
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnel_refusals_total{reason=\"acl\"}", 1));
    EXPECT_TRUE(metric_becomes(ferry, "ferry_acl_denials_total", 1));
}

// A server-speaks-first protocol (SMTP, SSH) through CONNECT: the origin's banner reaches the
// client while ferry waits for the client's first bytes. With match, a client that never
// speaks has nothing to judge and keeps its tunnel; its plain-text reply passes too.
TEST_F(TunnelSni, ServerSpeaksFirstStillWorksWithMatch) {
    test_origin origin(banner_then_echo);
    ferry_process ferry(ferry_args({"--tunnel-sni", "match"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = open_tunnel(ferry, origin.port());
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s.read_until("\r\n"), "220 origin ready\r\n");
    ASSERT_TRUE(s.send_all("EHLO client\r\n"));
    EXPECT_EQ(s.read_until("\r\n"), "EHLO client\r\n");
    s.close();
    auto line = tunnel_line(ferry, origin.authority());
    EXPECT_TRUE(line.ends_with(" tls=no")) << line;
}

// An HTTP/2 CONNECT stream goes through the same peek: a matching hello is echoed back by the
// origin, a mismatching one resets the stream (the connection stays).
TEST_F(TunnelSni, Http2ConnectStreamsAreJudgedToo) {
    if (!python_h2_installed()) GTEST_SKIP() << "python3-h2 is not installed";
    test_origin origin(echo);
    ferry_process ferry(ferry_args({"--tunnel-sni", "match", "--http2-cleartext", "on"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto run = [&](const std::string& bytes) {
        temp_file file(bytes);
        return run_program(
            {"/usr/bin/python3",
             std::string(FERRY_SOURCE_DIR) + "/tests/integration/h2/connect_hello.py",
             "127.0.0.1:" + std::to_string(ferry.port()), origin.authority(), file.path()},
            15s);
    };
    // To an IP address, a hello without a server name is what RFC 6066 asks for: it passes.
    hello::hello_spec unnamed;
    unnamed.sni.clear();
    const auto plain = hello::client_hello_bytes(unnamed);
    auto passed = run(plain);
    EXPECT_EQ(line_words(passed.out)["status"], "200") << passed.out << passed.err;
    EXPECT_EQ(line_words(passed.out)["echoed"], std::to_string(plain.size())) << passed.out;
    EXPECT_EQ(line_words(passed.out)["reset"], "none") << passed.out;
    hello::hello_spec named;
    named.sni = "other.test";
    auto refused = run(hello::client_hello_bytes(named));
    EXPECT_EQ(line_words(refused.out)["status"], "200") << refused.out << refused.err;
    EXPECT_EQ(line_words(refused.out)["echoed"], "0") << refused.out;
    EXPECT_NE(line_words(refused.out)["reset"], "none") << refused.out;
    EXPECT_TRUE(metric_becomes(ferry, "ferry_tunnel_refusals_total{reason=\"sni_mismatch\"}", 1));
    ASSERT_TRUE(ferry.wait_for_out(" sni=- alpn=h2,http/1.1")) << ferry.out();
    ASSERT_TRUE(ferry.wait_for_out(" sni=other.test alpn=h2,http/1.1 \"ferry: tunnel refused"))
        << ferry.out();
    EXPECT_NE(ferry.out().find("proto=h2"), std::string::npos) << ferry.out();
}
