// `ferry explain` and the admin listener's /explain: what ferry would do with a request —
// the deciding rule and why the earlier ones did not match, the route, the addresses a name
// resolves to through ferry's own resolver (a loopback DNS server run by the test) and the
// CIDR rules they meet, the CONNECT port rule, users — without ever connecting to the origin.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/test_dns.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// Three named rules: internal addresses denied, port 22 denied, loopback clients allowed.
std::string rules_config(const test_dns& dns, int origin_port, std::string extra = "") {
    return fmt::format(R"(dns_server = ["{}"]
connect_ports = [443, {}]
{}
[[acl]]
name = "internal"
action = "deny"
dest = ["10.0.0.0/8"]

[[acl]]
name = "no-ssh"
action = "deny"
ports = [22]

[[acl]]
name = "loopback"
action = "allow"
client = ["127.0.0.0/8"]
)",
                       dns.server_arg(), origin_port, extra);
}

bool has(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST(Explain, AllowedNameResolvedThroughFerrysResolverNothingSentToTheOrigin) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("out.test", {"127.0.0.1"});
    temp_file config(rules_config(dns, origin.port()));
    const auto url = fmt::format("http://out.test:{}/page", origin.port());
    auto r = run_ferry({"explain", "--config", config.path(), url});
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    const auto& t = r.out;
    EXPECT_TRUE(has(t, fmt::format("Request: GET {} from 127.0.0.1, no user", url))) << t;
    EXPECT_TRUE(has(t, "Configuration: " + config.path())) << t;
    EXPECT_TRUE(has(t, "Access: allowed by rule 3 (\"loopback\"")) << t;
    EXPECT_TRUE(has(t, "rule 1 (\"internal\", line 4): no match: destination out.test meets none "
                       "of 10.0.0.0/8"))
        << t;
    EXPECT_TRUE(has(t, fmt::format("rule 2 (\"no-ssh\", line 9): no match: port {} is not among 22",
                                   origin.port())))
        << t;
    EXPECT_TRUE(has(t, "Route: direct (no parent proxy)")) << t;
    EXPECT_TRUE(has(t, fmt::format("Addresses (/etc/hosts, then DNS {})", dns.server_arg()))) << t;
    EXPECT_TRUE(has(t, "127.0.0.1: may be tried")) << t;
    EXPECT_TRUE(has(t, "Timeouts: connect 10 s")) << t;
    EXPECT_TRUE(has(t, "Verdict: allowed")) << t;
    EXPECT_GE(dns.queries("out.test"), 1);
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Explain, ANameResolvingIntoADeniedRangeIsRefused) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("in.test", {"10.1.2.3"});
    dns.set("both.test", {"127.0.0.1", "10.9.9.9"});
    temp_file config(rules_config(dns, origin.port()));
    auto r = run_ferry({"explain", "--config", config.path(), "http://in.test/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "10.1.2.3: refused before connecting: ferry: denied by access rule 1 "
                           "(\"internal\") (in.test is 10.1.2.3); meets rule 1 (\"internal\", "
                           "line 4) deny: 10.0.0.0/8"))
        << r.out;
    EXPECT_TRUE(has(r.out, "Verdict: refused: 403 ferry: denied by access rule 1")) << r.out;
    // Every address is judged before the first attempt: the denied one is skipped.
    r = run_ferry(
        {"explain", "--config", config.path(), fmt::format("http://both.test:{}/", origin.port())});
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "10.9.9.9: refused before connecting")) << r.out;
    EXPECT_TRUE(has(r.out, "127.0.0.1: may be tried")) << r.out;
    // No such name: what the client would get.
    r = run_ferry({"explain", "--config", config.path(), "http://missing.test/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "Verdict: refused: 502 ferry: cannot resolve missing.test")) << r.out;
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Explain, ConnectPortRuleAndPortRule) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("out.test", {"127.0.0.1"});
    temp_file config(rules_config(dns, origin.port()));
    // host:port is CONNECT; port 22 is not among --connect-ports.
    auto r = run_ferry({"explain", "--config", config.path(), "out.test:22"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, fmt::format("CONNECT ports: 22 is not allowed (--connect-ports 443,{})",
                                       origin.port())))
        << r.out;
    EXPECT_TRUE(has(r.out, "Verdict: refused: 403 ferry: CONNECT to port 22 is not allowed"))
        << r.out;
    // A GET to port 22: the access rule "no-ssh" decides.
    r = run_ferry({"explain", "--config", config.path(), "http://out.test:22/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "Access: denied by rule 2 (\"no-ssh\", line 9)")) << r.out;
    // CONNECT to the origin's port: allowed, with the tunnel's timeouts.
    r = run_ferry({"explain", "--config", config.path(), "--method", "CONNECT",
                   fmt::format("out.test:{}", origin.port())});
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, fmt::format("CONNECT ports: {} is allowed", origin.port()))) << r.out;
    EXPECT_TRUE(has(r.out, "tunnel idle 300 s")) << r.out;
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Explain, ParentAndDirectRules) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("www.corp.test", {"192.0.2.10"});
    const std::vector<std::string> common{"explain",    "--dns-server",       dns.server_arg(),
                                          "--parent",   "http://127.0.0.1:1", "--direct",
                                          ".corp.test", "--direct",           "10.0.0.0/8"};
    auto args = common;
    args.push_back("http://www.example.test/");
    auto r = run_ferry(args);
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "Route: through the parent proxy 127.0.0.1:1: no --direct rule matches "
                           "www.example.test (.corp.test, 10.0.0.0/8)"))
        << r.out;
    EXPECT_TRUE(has(r.out, "the parent proxy resolves www.example.test")) << r.out;
    EXPECT_EQ(dns.queries("www.example.test"), 0);
    args = common;
    args.push_back("http://www.corp.test/");
    r = run_ferry(args);
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "Route: direct: --direct rule 1 (.corp.test) matches www.corp.test"))
        << r.out;
    EXPECT_TRUE(has(r.out, "192.0.2.10: may be tried")) << r.out;
}

TEST(Explain, UsersWithAndWithoutAUsersFile) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("out.test", {"127.0.0.1"});
    // alice's password is never shown, nor its hash.
    temp_file users("alice:$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli\n");
    const auto rule = R"(
[[acl]]
name = "staff"
action = "allow"
users = ["alice"]
)";
    temp_file config(fmt::format("dns_server = [\"{}\"]\n[auth]\nhtpasswd = \"{}\"\n{}",
                                 dns.server_arg(), users.path(), rule));
    auto r = run_ferry({"explain", "--config", config.path(), "http://out.test/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "names users (alice) and no credentials were given")) << r.out;
    EXPECT_TRUE(has(r.out, "Verdict: refused: 407 ferry: proxy authentication required")) << r.out;
    r = run_ferry({"explain", "--config", config.path(), "--user", "alice", "http://out.test/"});
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "user alice is in " + users.path())) << r.out;
    EXPECT_FALSE(has(r.out, "$2y$")) << r.out;
    r = run_ferry({"explain", "--config", config.path(), "--user", "bob", "http://out.test/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "user bob is not in " + users.path())) << r.out;
    EXPECT_TRUE(has(r.out, "407 ferry: proxy authentication failed")) << r.out;
    // Without a users file, a rule with users is a configuration error naming file and line.
    temp_file no_users(fmt::format("dns_server = [\"{}\"]\n{}", dns.server_arg(), rule));
    r = run_ferry({"explain", "--config", no_users.path(), "--user", "alice", "http://out.test/"});
    EXPECT_EQ(r.exit_code(), 2) << r.out << r.err;
    EXPECT_TRUE(has(r.err, no_users.path() + ":3: acl.users")) << r.err;
}

TEST(Explain, UsageErrorsAreOneLine) {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"explain"},
                                               {"explain", "--client", "nope", "http://a.test/"},
                                               {"explain", "http://a.test/", "http://b.test/"},
                                               {"explain", "ftp://a.test/"},
                                               {"explain", "--nonsense", "http://a.test/"}}) {
        auto r = run_ferry(args);
        EXPECT_EQ(r.exit_code(), 2) << args.back() << r.out << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_TRUE(r.err.starts_with("ferry: ")) << r.err;
        EXPECT_EQ(r.out, "");
    }
    auto r = run_ferry({"explain", "--help"});
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_TRUE(has(r.out, "--client IP")) << r.out;
}

TEST(Explain, AdminExplainGivesTheSameAnswer) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("in.test", {"10.1.2.3"});
    dns.set("out.test", {"127.0.0.1"});
    temp_file config(rules_config(dns, origin.port()));
    ferry_process ferry({"--config", config.path(), "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();
    struct ask {
        std::string query;
        std::vector<std::string> cli;
        std::string verdict;
    };
    const auto url = fmt::format("http://out.test:{}/a?b=c", origin.port());
    for (const auto& a :
         std::vector<ask>{{fmt::format("url=http%3A%2F%2Fout.test%3A{}%2Fa%3Fb%3Dc", origin.port()),
                           {url},
                           "allowed"},
                          {"url=http://in.test/", {"http://in.test/"}, "refused"},
                          {"url=out.test:22&method=CONNECT&client=127.0.0.2",
                           {"--method", "CONNECT", "--client", "127.0.0.2", "out.test:22"},
                           "refused"}}) {
        auto response = admin_get(port, "GET /explain?" + a.query + " HTTP/1.1");
        EXPECT_EQ(status_of(response), 200) << printable(response);
        EXPECT_TRUE(has(header_value(response, "content-type"), "text/plain")) << response;
        EXPECT_EQ(header_value(response, "ferry-verdict"), a.verdict) << response;
        std::vector<std::string> args{"explain", "--config", config.path()};
        args.insert(args.end(), a.cli.begin(), a.cli.end());
        auto cli = run_ferry(args);
        EXPECT_EQ(std::string(body_of(response)), cli.out) << a.query;
    }
    auto bad = admin_get(port, "GET /explain?client=1.2.3.4 HTTP/1.1");
    EXPECT_EQ(status_of(bad), 400) << bad;
    EXPECT_EQ(status_of(admin_get(port, "POST /explain?url=http://a.test/ HTTP/1.1")), 405);
    EXPECT_EQ(origin.connections(), 0);
}
