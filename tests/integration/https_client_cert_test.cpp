// Client certificates on the HTTPS listener (issue 14 §3), with curl's --proxy-cert: a
// certificate verified against tls_client_ca names the exchange's user (the access log's
// user field, [[acl]] users) without Proxy-Authorization; one from another CA, none when
// tls_client_auth = "required", and one the CRL revokes end the handshake, each counted in
// /metrics by its reason and named on stderr with the client's address.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/temp_file.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <memory>
#include <regex>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

class HttpsClientCert : public ::testing::Test {
protected:
    void SetUp() override {
        if (shell_output("command -v curl").empty()) GTEST_SKIP() << "the curl command is missing";
        ASSERT_TRUE(files.ok()) << files.error();
    }

    // ferry with the https listener, the client CA and CRL, `more` configuration, and an
    // admin listener.
    void start(const std::string& more) {
        config = std::make_unique<temp_file>(
            files.https_toml() +
            fmt::format("tls_client_ca = \"{}\"\ntls_client_crl = \"{}\"\n", files.ca(),
                        files.crl()) +
            more);
        ferry = std::make_unique<ferry_process>(
            std::vector<std::string>{"--config", config->path(), "--admin-listen", "127.0.0.1:0"},
            false);
    }

    // curl through ferry with the client certificate `name` ("" for none); the status code
    // curl printed ("000" when the exchange failed), and curl's exit code.
    std::pair<std::string, int> get(const std::string& url, const std::string& name) {
        auto argv = without_proxy_environment();
        argv.insert(argv.end(),
                    {"curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
                     "--proxy", fmt::format("https://127.0.0.1:{}", ferry->port()),
                     "--proxy-cacert", files.ca()});
        if (!name.empty())
            argv.insert(argv.end(), {"--proxy-cert", files.client_cert(name), "--proxy-key",
                                     files.client_key(name)});
        argv.push_back(url);
        auto r = run_program(argv, 30s);
        last_curl_err = r.err;
        return {r.out, r.exit_code()};
    }

    double failures(const std::string& reason) const {
        return fetch_metric(
            admin_port(*ferry),
            fmt::format("ferry_tls_handshake_failures_total{{reason=\"{}\"}}", reason));
    }

    // The handshake failed for `reason`: counted once, and one stderr line names the client.
    void expect_handshake_failure(const std::string& reason) {
        EXPECT_TRUE(eventually([&] { return failures(reason) == 1; }))
            << reason << ": " << failures(reason) << "\n"
            << ferry->err();
        // OpenSSL's own words may follow in parentheses.
        const std::regex line("ferry: TLS handshake from 127\\.0\\.0\\.1:[0-9]+ failed: " + reason +
                              "( \\([^\n]*\\))?\n");
        EXPECT_TRUE(eventually([&] { return std::regex_search(ferry->err(), line); }))
            << ferry->err();
    }

    tls_files files{true};
    std::unique_ptr<temp_file> config;
    std::unique_ptr<ferry_process> ferry;
    std::string last_curl_err;
};

} // namespace

TEST_F(HttpsClientCert, TheCertificatesCnIsTheUserOfTheAccessLogAndTheAcl) {
    test_origin origin;
    start("[[acl]]\naction = \"allow\"\nusers = [\"svc-a\"]\n");
    ASSERT_TRUE(ferry->started()) << ferry->err();

    EXPECT_EQ(get(origin.url("/a"), "svc-a"), std::make_pair(std::string("200"), 0))
        << last_curl_err << ferry->err();
    EXPECT_FALSE(wait_for_line(*ferry, {"/a ", " 200 ", "user=\"svc-a\""}).empty()) << ferry->out();
    // svc-b is verified too, but the rule does not list it: no rule allows the request.
    EXPECT_EQ(get(origin.url("/b"), "svc-b").first, "403") << last_curl_err;
    EXPECT_FALSE(wait_for_line(*ferry, {"/b ", " 403 ", "user=\"svc-b\""}).empty()) << ferry->out();
    // Without a certificate (optional) there is no user, and with no htpasswd there are no
    // credentials to ask for: refused like svc-b (as Squid denies when an ACL's user is not
    // there), not a 407 no client could answer.
    EXPECT_EQ(get(origin.url("/none"), "").first, "403") << last_curl_err;
    EXPECT_EQ(origin.received().find("/b "), std::string::npos);
    EXPECT_EQ(origin.received().find("/none "), std::string::npos);
    EXPECT_EQ(failures("bad_certificate"), 0);
    EXPECT_EQ(failures("no_certificate"), 0);
}

TEST_F(HttpsClientCert, TheIdentityCanBeASubjectAltName) {
    test_origin origin;
    const std::pair<const char*, const char*> identities[] = {
        {"san-dns", "svc-a.test"}, {"san-email", "svc-a@test"}, {"san-uri", "spiffe://test/svc-a"}};
    // A URI (a SPIFFE ID here) has a colon, which a Basic-auth user name cannot: the rule
    // must still accept it, since this user comes only from a certificate.
    for (const auto& [kind, user] : identities) {
        start(fmt::format("tls_client_identity = \"{}\"\n[[acl]]\naction = \"allow\"\nusers = "
                          "[\"{}\"]\n",
                          kind, user));
        ASSERT_TRUE(ferry->started()) << kind << "\n" << ferry->err();
        EXPECT_EQ(get(origin.url("/"), "svc-a").first, "200") << kind << "\n" << last_curl_err;
        EXPECT_FALSE(wait_for_line(*ferry, {" 200 ", fmt::format("user=\"{}\"", user)}).empty())
            << kind << "\n"
            << ferry->out();
        EXPECT_EQ(get(origin.url("/"), "svc-b").first, "403") << kind << "\n" << last_curl_err;
    }
}

TEST_F(HttpsClientCert, ACertificateFromAnotherCaEndsTheHandshake) {
    test_origin origin;
    start("");
    ASSERT_TRUE(ferry->started()) << ferry->err();
    // "rogue" says CN=svc-a, but no CA ferry trusts signed it.
    const auto [status, code] = get(origin.url("/"), "rogue");
    EXPECT_EQ(status, "000") << last_curl_err;
    EXPECT_NE(code, 0) << last_curl_err;
    EXPECT_EQ(origin.connections(), 0);
    expect_handshake_failure("bad_certificate");
    EXPECT_EQ(get(origin.url("/"), "svc-a").first, "200") << "a good certificate still passes";
}

TEST_F(HttpsClientCert, NoCertificateWhenOneIsRequiredEndsTheHandshake) {
    test_origin origin;
    start("tls_client_auth = \"required\"\n");
    ASSERT_TRUE(ferry->started()) << ferry->err();
    const auto [status, code] = get(origin.url("/"), "");
    EXPECT_EQ(status, "000") << last_curl_err;
    EXPECT_NE(code, 0) << last_curl_err;
    EXPECT_EQ(origin.connections(), 0);
    expect_handshake_failure("no_certificate");
    EXPECT_EQ(get(origin.url("/"), "svc-b").first, "200") << last_curl_err << ferry->err();
    EXPECT_FALSE(wait_for_line(*ferry, {" 200 ", "user=\"svc-b\""}).empty()) << ferry->out();
}

TEST_F(HttpsClientCert, ARevokedCertificateEndsTheHandshake) {
    test_origin origin;
    start("tls_client_auth = \"required\"\n");
    ASSERT_TRUE(ferry->started()) << ferry->err();
    const auto [status, code] = get(origin.url("/"), "svc-revoked");
    EXPECT_EQ(status, "000") << last_curl_err;
    EXPECT_NE(code, 0) << last_curl_err;
    EXPECT_EQ(origin.connections(), 0);
    expect_handshake_failure("revoked");
    EXPECT_EQ(get(origin.url("/"), "svc-a").first, "200") << "the CRL revokes svc-revoked only";
}
