// TLS to the parent proxy (issue 14 §4): ferry → ferry (--listen https://, a certificate of
// the test's own CA) → origin. GET, POST, keep-alive through TLS, a CONNECT tunnel to a TLS
// origin (TLS in TLS), the parent's credentials, session resumption, and every way the
// TLS connection can fail: a 502 whose one line names the parent and the cause. The CA,
// the certificates and the TLS stand-ins (openssl s_server) are made by the test.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/peer_proxy.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;

namespace {

// A CA of the test's own and certificates it signed, in a temporary folder:
//   ca.pem             the CA the parent is verified against
//   parent.pem/.key    for IP 127.0.0.1 and DNS localhost
//   stranger.pem/.key  for other.example and 127.0.0.2 only (a wrong name for the parent)
//   other-ca.pem       a CA that signed none of them
class test_pki {
public:
    test_pki() {
        char dir_template[] = "/tmp/ferry-parent-tls-XXXXXX";
        if (!mkdtemp(dir_template)) return;
        dir_ = dir_template;
        const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        const std::string ca_ext = "-addext basicConstraints=critical,CA:TRUE "
                                   "-addext keyUsage=critical,keyCertSign,cRLSign";
        std::string script = "cd " + dir_ + " && set -e\n";
        for (const char* ca : {"ca", "other-ca"})
            script += fmt_ca(ca, key, ca_ext);
        script += leaf("parent", "IP:127.0.0.1,DNS:localhost", key);
        script += leaf("stranger", "DNS:other.example,IP:127.0.0.2", key);
        // Readable by all: Squid reads them as its own user.
        script += "chmod 755 . && chmod 644 *\n";
        ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
    }
    ~test_pki() {
        if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
    }
    bool ok() const { return ok_; }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }

private:
    static std::string fmt_ca(const std::string& name, const std::string& key,
                              const std::string& ext) {
        return "openssl req -x509 " + key + " -keyout " + name + ".key -out " + name +
               ".pem -days 2 -subj /CN=" + name + " " + ext + "\n";
    }
    static std::string leaf(const std::string& name, const std::string& san,
                            const std::string& key) {
        return "openssl req " + key + " -keyout " + name + ".key -out " + name +
               ".csr -subj /CN=" + name + "\n" + "printf 'subjectAltName=" + san + "\\n' > " +
               name + ".ext\n" + "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key" +
               " -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name + ".ext\n";
    }
    std::string dir_;
    bool ok_ = false;
};

// `openssl s_server` on 127.0.0.1 with the test's certificate `name`, plus `args`.
class openssl_server {
public:
    openssl_server(const test_pki& pki, const std::string& name, std::vector<std::string> args,
                   const std::string& dir = "/tmp") {
        port_ = unused_port();
        pid_ = fork();
        if (pid_ == 0) {
            if (chdir(dir.c_str()) != 0) _exit(127);
            std::vector<std::string> words = {"openssl",
                                              "s_server",
                                              "-quiet",
                                              "-accept",
                                              "127.0.0.1:" + std::to_string(port_),
                                              "-cert",
                                              pki.path(name + ".pem"),
                                              "-key",
                                              pki.path(name + ".key")};
            words.insert(words.end(), args.begin(), args.end());
            std::vector<char*> argv;
            for (auto& w : words)
                argv.push_back(w.data());
            argv.push_back(nullptr);
            execvp("openssl", argv.data());
            _exit(127);
        }
        for (int i = 0; i < 100 && !ready_; ++i) { // up to 5 s for s_server to listen
            ready_ = tcp_stream::connect_to(port_).ok();
            if (!ready_) std::this_thread::sleep_for(50ms);
        }
    }
    ~openssl_server() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
    }
    bool ready() const { return ready_; }
    int port() const { return port_; }

private:
    int port_ = 0;
    pid_t pid_ = -1;
    bool ready_ = false;
};

// ferry as an HTTPS proxy with the certificate `name`, plus `args`.
std::vector<std::string> https_parent_args(const test_pki& pki, const std::string& name,
                                           std::vector<std::string> args = {}) {
    std::vector<std::string> all = {"--listen",   "https://127.0.0.1:0",
                                    "--tls-cert", pki.path(name + ".pem"),
                                    "--tls-key",  pki.path(name + ".key")};
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

std::string https_url(int port, const std::string& host = "127.0.0.1") {
    return "https://" + host + ":" + std::to_string(port);
}

// One request on a new connection; the whole response (raw).
std::string exchange(int port, const std::string& request) {
    auto s = tcp_stream::connect_to(port);
    if (!s.send_all(request)) return {};
    return s.read_response(10s);
}

std::string get_through(const ferry_process& child, const test_origin& origin,
                        const std::string& path = "/") {
    return exchange(child.port(), "GET " + origin.url(path) +
                                      " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n");
}

// A 502 whose one-line body is `ferry: TLS to parent <parent> failed: <why...>`.
void expect_tls_failure(const std::string& response, const std::string& parent,
                        const std::string& why) {
    EXPECT_EQ(status_of(response), 502) << printable(response);
    const auto body = std::string(body_of(response));
    const auto expected = "ferry: TLS to parent " + parent + " failed: " + why;
    EXPECT_TRUE(body.starts_with(expected))
        << "expected " << expected << "..., got: " << printable(response);
    EXPECT_EQ(body.find('\n'), body.size() - 1) << "one line: " << printable(body);
}

std::string parent_label(const ferry_process& parent) {
    return "127.0.0.1:" + std::to_string(parent.port());
}

} // namespace

class ParentTls : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(pki.ok()) << "openssl could not make the test's certificates";
    }
    test_pki pki;
};

// GET, a 1 MiB POST and a chunked body through ferry → ferry(TLS) → origin, all on one TLS
// connection to the parent (kept alive in the child's pool between requests).
TEST_F(ParentTls, GetPostAndKeepAliveThroughATlsParent) {
    test_origin origin;
    ferry_process parent(https_parent_args(pki, "parent", {"--via", "parent"}), false);
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--parent", https_url(parent.port()), "--parent-ca", pki.path("ca.pem"),
                         "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(child.started()) << child.err();
    curl_client client;

    auto get = client.perform({.url = origin.url("/size/1000"), .proxy = child.proxy_url()});
    ASSERT_EQ(get.code, CURLE_OK) << child.err();
    EXPECT_EQ(get.status, 200) << get.body;
    EXPECT_EQ(get.body, pattern(1000));

    const std::size_t size = 1024 * 1024;
    auto post = client.perform({.url = origin.url("/echo"),
                                .proxy = child.proxy_url(),
                                .method = "POST",
                                .pattern_upload = size,
                                .keep_body = false});
    ASSERT_EQ(post.code, CURLE_OK) << child.err();
    EXPECT_EQ(post.status, 200);
    EXPECT_EQ(post.body_size, size);
    EXPECT_EQ(post.body_hash, hash_pattern(size));

    const std::size_t chunked_size = 300'000;
    auto chunked = client.perform({.url = origin.url("/chunked/" + std::to_string(chunked_size)),
                                   .proxy = child.proxy_url(),
                                   .keep_body = false});
    ASSERT_EQ(chunked.code, CURLE_OK);
    EXPECT_EQ(chunked.status, 200);
    EXPECT_EQ(chunked.body_hash, hash_pattern(chunked_size));

    // Every request went through the parent...
    const auto seen = origin.received();
    EXPECT_NE(seen.find("Via: 1.1 ferry\r\nVia: 1.1 parent\r\n"), std::string::npos)
        << printable(seen, 400);
    // ...on one TLS connection: the POST (not retriable) took a fresh one, which the pool
    // kept for the GET after it.
    const int admin = admin_port(child);
    ASSERT_GT(admin, 0) << child.out();
    const auto page = admin_get(admin, "GET /metrics HTTP/1.1");
    EXPECT_EQ(metric(page, "ferry_upstream_connections_opened_total"), 2) << page;
    EXPECT_GE(metric(page, "ferry_upstream_pool_reused_total"), 1) << page;
}

// curl → ferry → ferry(TLS) → TLS origin: CONNECT through the parent, then the client's TLS
// inside the TLS to the parent. 2 MiB, byte-exact.
TEST_F(ParentTls, ConnectTunnelToATlsOriginThroughTheTlsParent) {
    char dir_template[] = "/tmp/ferry-www-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const std::size_t size = 2 * 1024 * 1024;
    std::ofstream(dir + "/data.bin", std::ios::binary) << pattern(size);
    openssl_server origin(pki, "parent", {"-WWW"}, dir);
    ASSERT_TRUE(origin.ready()) << "openssl s_server did not start";
    const auto port = std::to_string(origin.port());
    ferry_process parent(https_parent_args(pki, "parent", {"--connect-ports", port}), false);
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--parent", https_url(parent.port()), "--parent-ca", pki.path("ca.pem"),
                         "--connect-ports", port});
    ASSERT_TRUE(child.started()) << child.err();
    curl_client client;
    auto r = client.perform({.url = "https://127.0.0.1:" + port + "/data.bin",
                             .proxy = child.proxy_url(),
                             .insecure = true,
                             .keep_body = false});
    std::system(("rm -rf " + dir).c_str());
    ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code) << "\n" << child.err();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern(size));
    EXPECT_TRUE(child.wait_for_out("CONNECT 127.0.0.1:" + port + " 200")) << child.out();
    EXPECT_TRUE(parent.wait_for_out("CONNECT 127.0.0.1:" + port + " 200")) << parent.out();
}

// The parent asks for credentials (--htpasswd): ferry's own, from the --parent URL, go
// inside the TLS connection; the parent's access log names the user. Without them, the
// parent's 407 is a 502 for the client (which cannot fix ferry's credentials).
TEST_F(ParentTls, ParentCredentialsTravelInsideTls) {
    const auto hash = shell_output("openssl passwd -5 's3cret'");
    ASSERT_FALSE(hash.empty()) << "openssl passwd failed";
    temp_file users("alice:" + hash + "\n");
    test_origin origin;
    ferry_process parent(
        https_parent_args(pki, "parent",
                          {"--htpasswd", users.path(), "--access-log-format", "squid"}),
        false);
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--parent",
                         "https://alice:s3cret@127.0.0.1:" + std::to_string(parent.port()),
                         "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(child.started()) << child.err();
    const auto ok = get_through(child, origin, "/size/10");
    EXPECT_EQ(status_of(ok), 200) << printable(ok);
    EXPECT_EQ(body_of(ok), pattern(10));
    EXPECT_TRUE(parent.wait_for_out(" alice ")) << parent.out();

    ferry_process anonymous(
        {"--parent", https_url(parent.port()), "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(anonymous.started()) << anonymous.err();
    const auto refused = get_through(anonymous, origin);
    EXPECT_EQ(status_of(refused), 502) << printable(refused);
    EXPECT_NE(refused.find("refused ferry's credentials"), std::string::npos) << printable(refused);
}

// A parent whose certificate the CAs do not vouch for, or that is for another name or
// address: 502, naming the parent and OpenSSL's verdict. Nothing reaches the origin.
TEST_F(ParentTls, UnverifiedParentIs502NamingTheCause) {
    test_origin origin;
    ferry_process parent(https_parent_args(pki, "parent"), false);
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process wrong_ca(
        {"--parent", https_url(parent.port()), "--parent-ca", pki.path("other-ca.pem")});
    ASSERT_TRUE(wrong_ca.started()) << wrong_ca.err();
    expect_tls_failure(get_through(wrong_ca, origin), parent_label(parent),
                       "certificate verify failed (unable to get local issuer certificate)");

    ferry_process stranger(https_parent_args(pki, "stranger"), false);
    ASSERT_TRUE(stranger.started()) << stranger.err();
    ferry_process by_address(
        {"--parent", https_url(stranger.port()), "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(by_address.started()) << by_address.err();
    expect_tls_failure(get_through(by_address, origin), parent_label(stranger),
                       "certificate verify failed (IP address mismatch)");
    ferry_process by_name(
        {"--parent", https_url(stranger.port(), "localhost"), "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(by_name.started()) << by_name.err();
    expect_tls_failure(get_through(by_name, origin), "localhost:" + std::to_string(stranger.port()),
                       "certificate verify failed (hostname mismatch)");
    EXPECT_EQ(origin.connections(), 0);
}

// https:// to a parent that speaks plain HTTP: 502 naming the parent, at once.
TEST_F(ParentTls, PlainHttpParentIs502) {
    test_origin origin;
    ferry_process parent;
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--parent", https_url(parent.port()), "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(child.started()) << child.err();
    const auto r = get_through(child, origin);
    expect_tls_failure(r, parent_label(parent), "");
    EXPECT_NE(r.find("does not speak TLS"), std::string::npos) << printable(r);
    EXPECT_EQ(origin.connections(), 0);
}

// A parent that takes the connection but never answers the handshake: 504 once the connect
// timeout has passed, named and logged as other connect failures are.
TEST_F(ParentTls, SilentParentTimesOutAs504) {
    test_origin silent([](origin_connection& c) { c.stream.read_exact(1 << 20, 4s); });
    test_origin origin;
    ferry_process child({"--parent", https_url(silent.port()), "--parent-ca", pki.path("ca.pem"),
                         "--connect-timeout", "1"});
    ASSERT_TRUE(child.started()) << child.err();
    const auto started = std::chrono::steady_clock::now();
    const auto r = get_through(child, origin);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(status_of(r), 504) << printable(r);
    EXPECT_EQ(std::string(body_of(r)), "ferry: TLS to parent 127.0.0.1:" +
                                           std::to_string(silent.port()) + " failed: timed out\n");
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 3s);
    EXPECT_TRUE(child.wait_for_out(" 504 ")) << child.out();
    EXPECT_NE(child.out().find("\"ferry: TLS to parent 127.0.0.1:"), std::string::npos)
        << child.out();
}

// A new connection to the parent resumes the last session instead of a full handshake.
// openssl s_server -www stands in for the parent: its page says "Reused" for a resumed
// session. The pool is off, so that each request opens its own connection.
TEST_F(ParentTls, NextConnectionResumesTheSession) {
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
        SCOPED_TRACE(version);
        openssl_server parent(pki, "parent", {"-www", version});
        ASSERT_TRUE(parent.ready()) << "openssl s_server did not start";
        ferry_process child({"--parent", https_url(parent.port()), "--parent-ca",
                             pki.path("ca.pem"), "--pool-per-host", "0", "--workers", "1"});
        ASSERT_TRUE(child.started()) << child.err();
        test_origin origin;
        const auto first = get_through(child, origin);
        ASSERT_EQ(status_of(first), 200) << printable(first);
        EXPECT_NE(first.find("New, "), std::string::npos) << printable(first);
        const auto second = get_through(child, origin);
        ASSERT_EQ(status_of(second), 200) << printable(second);
        EXPECT_NE(second.find("Reused, "), std::string::npos) << printable(second);
    }
}

// A parent_ca that cannot be used stops ferry at start, naming the file.
TEST_F(ParentTls, UnusableParentCaIsRefusedAtStart) {
    temp_file not_pem("this is not a certificate\n");
    for (const auto& file : {std::string("/nonexistent/ca.pem"), not_pem.path()}) {
        auto r = run_ferry({"0", "--parent", "https://127.0.0.1:1", "--parent-ca", file});
        EXPECT_EQ(r.exit_code(), 2) << r.err;
        EXPECT_NE(r.err.find("ferry: parent_ca " + file + ": "), std::string::npos) << r.err;
    }
}

// SIGHUP reads parent_ca again: a bad file fails the reload and the old CAs stay; a good
// new one applies at once, to pooled connections too (they were verified under the old).
TEST_F(ParentTls, ReloadReadsTheParentCaAgain) {
    test_origin origin;
    ferry_process parent(https_parent_args(pki, "parent"), false);
    ASSERT_TRUE(parent.started()) << parent.err();
    const auto config = [&](const std::string& ca) {
        return "parent = \"" + https_url(parent.port()) + "\"\nparent_ca = \"" + ca + "\"\n";
    };
    temp_file file(config(pki.path("ca.pem")));
    temp_file garbage("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    ferry_process child({"--config", file.path()});
    ASSERT_TRUE(child.started()) << child.err();
    ASSERT_EQ(status_of(get_through(child, origin)), 200) << child.err();

    std::ofstream(file.path(), std::ios::trunc) << config(garbage.path());
    kill(child.pid(), SIGHUP);
    EXPECT_TRUE(eventually([&] { return child.err().find("reload failed") != std::string::npos; }))
        << child.err();
    EXPECT_NE(child.err().find("parent_ca " + garbage.path() + ": "), std::string::npos)
        << child.err();
    const auto still = get_through(child, origin);
    EXPECT_EQ(status_of(still), 200) << printable(still);

    std::ofstream(file.path(), std::ios::trunc) << config(pki.path("other-ca.pem"));
    kill(child.pid(), SIGHUP);
    EXPECT_TRUE(eventually([&] {
        return child.err().find("configuration reloaded") != std::string::npos;
    })) << child.err();
    expect_tls_failure(get_through(child, origin), parent_label(parent),
                       "certificate verify failed");
}

// Squid's https_port as the parent (Debian builds Squid with GnuTLS, which serves it): GET
// and a keep-alive second request through ferry → Squid(TLS) → origin.
TEST_F(ParentTls, SquidHttpsPortAsTheParent) {
    if (!peer_proxy::installed(peer_kind::squid)) GTEST_SKIP() << "squid is not installed";
    test_origin origin;
    const int https_port = unused_port();
    peer_proxy squid(peer_kind::squid, {"https_port 127.0.0.1:" + std::to_string(https_port) +
                                        " tls-cert=" + pki.path("parent.pem") +
                                        " tls-key=" + pki.path("parent.key")});
    // A build without TLS refuses the https_port line and does not start at all.
    if (!squid.ready() && squid.log().find("https_port") != std::string::npos)
        GTEST_SKIP() << "this squid build does not serve https_port: " << squid.log();
    ASSERT_TRUE(squid.ready()) << squid.problem() << "\n" << squid.log();
    bool listening = false;
    for (int i = 0; i < 100 && !listening; ++i) { // the https_port opens with the http_port
        listening = tcp_stream::connect_to(https_port).ok();
        if (!listening) std::this_thread::sleep_for(50ms);
    }
    if (!listening) GTEST_SKIP() << "this squid build does not serve https_port: " << squid.log();
    ferry_process child({"--parent", https_url(https_port), "--parent-ca", pki.path("ca.pem")});
    ASSERT_TRUE(child.started()) << child.err();
    curl_client client;
    for (const std::size_t size : {1000u, 200'000u}) {
        auto r = client.perform({.url = origin.url("/size/" + std::to_string(size)),
                                 .proxy = child.proxy_url(),
                                 .keep_body = false});
        ASSERT_EQ(r.code, CURLE_OK) << child.err() << squid.log();
        EXPECT_EQ(r.status, 200) << r.headers;
        EXPECT_EQ(r.body_hash, hash_pattern(size));
    }
    EXPECT_NE(origin.received().find("squid-test"), std::string::npos)
        << "the request should have gone through squid: " << printable(origin.received());
}
