// explain: what ferry would do with a request, from the proxy's own decisions (pure parts:
// explain_first → the name to resolve → explain_finish with its addresses).
#include "app/explain.h"
#include "app/explain_request.h"

#include "config/config_file.h"

#include <gtest/gtest.h>

namespace ferry::app {
namespace {

namespace asio = boost::asio;

config::settings load(std::string_view toml) {
    auto loaded = config::parse_config(toml, "ferry.toml");
    EXPECT_TRUE(loaded.parsed) << loaded.error;
    auto s = loaded.parsed ? *loaded.parsed : config::settings{};
    s.config_file = "ferry.toml";
    return s;
}

struct judged {
    explain_state first;
    explain_outcome out;
};

// explain_first, then explain_finish with `addresses` for the name (when one is asked for).
judged run(const config::settings& s, explain_args args, std::vector<std::string> addresses = {},
           const auth::user_table* users = nullptr) {
    const std::vector<asio::ip::tcp::endpoint> self{{asio::ip::make_address("127.0.0.1"), 9001}};
    const explain_env env{s, policy::default_policy::loopback_only, users, self};
    judged j;
    j.first = explain_first(env, args);
    explain_lookup found;
    for (const auto& a : addresses)
        found.addresses.push_back(asio::ip::make_address(a));
    if (addresses.empty()) found.error = {core::errc::resolve_failed, "ferry: cannot resolve x"};
    j.out = explain_finish(env, j.first, found);
    return j;
}

explain_args ask(std::string target, std::string method = "", std::string client = "127.0.0.1") {
    explain_args a;
    a.target = std::move(target);
    a.method = std::move(method);
    a.client = std::move(client);
    return a;
}

constexpr std::string_view two_rules = R"(
[[acl]]
name = "blocked"
action = "deny"
dest = [".bad.test"]

[[acl]]
name = "local"
action = "allow"
client = ["127.0.0.0/8"]
methods = ["GET", "CONNECT"]
)";

TEST(ExplainRequest, UrlsBecomeTheHeadAClientWouldSend) {
    explain_request r;
    ASSERT_EQ(make_explain_request("http://Example.test:8080/a?b", "", r), "");
    EXPECT_EQ(r.head,
              "GET http://Example.test:8080/a?b HTTP/1.1\r\nHost: Example.test:8080\r\n\r\n");
    ASSERT_EQ(make_explain_request("https://example.test/x", "", r), "");
    EXPECT_EQ(r.line, "CONNECT example.test:443");
    ASSERT_EQ(make_explain_request("example.test:8443", "", r), "");
    EXPECT_EQ(r.line, "CONNECT example.test:8443");
    ASSERT_EQ(make_explain_request("[::1]:8443", "", r), "");
    EXPECT_EQ(r.line, "CONNECT [::1]:8443");
    ASSERT_EQ(make_explain_request("example.test", "post", r), "");
    EXPECT_EQ(r.line, "POST http://example.test");
    ASSERT_EQ(make_explain_request("example.test", "CONNECT", r), "");
    EXPECT_EQ(r.line, "CONNECT example.test");
    EXPECT_NE(make_explain_request("http://a b/", "", r), "");
    EXPECT_NE(make_explain_request("http://a/\r\nX: y", "", r), "");
    EXPECT_NE(make_explain_request("", "", r), "");
    EXPECT_NE(make_explain_request("http://a/", "GE T", r), "");
}

TEST(Explain, DefaultPolicyDirectRouteAndAddresses) {
    config::settings s;
    auto j = run(s, ask("http://www.example.test/"), {"192.0.2.7", "2001:db8::7"});
    EXPECT_EQ(j.first.resolve, "www.example.test");
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    const auto& t = j.out.text;
    EXPECT_NE(t.find("Request: GET http://www.example.test/ from 127.0.0.1, no user"), t.npos) << t;
    EXPECT_NE(t.find("Access: allowed by the default policy"), t.npos) << t;
    EXPECT_NE(t.find("Route: direct (no parent proxy)"), t.npos) << t;
    // IPv6 first, as the connector tries them.
    EXPECT_LT(t.find("2001:db8::7: may be tried"), t.find("192.0.2.7: may be tried")) << t;
    EXPECT_NE(t.find("response 60 s"), t.npos) << t;
    EXPECT_NE(t.find("Verdict: allowed"), t.npos) << t;
}

TEST(Explain, DefaultPolicyRefusesAnotherClient) {
    config::settings s;
    auto j = run(s, ask("http://www.example.test/", "", "192.168.1.5"));
    EXPECT_TRUE(j.first.done);
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: client 192.168.1.5 is not allowed"),
              std::string::npos)
        << j.out.text;
}

TEST(Explain, EachEarlierRuleSaysWhyItDidNotMatch) {
    const auto s = load(two_rules);
    auto j = run(s, ask("http://www.example.test/"), {"192.0.2.1"});
    const auto& t = j.out.text;
    EXPECT_EQ(j.out.exit_code, 0) << t;
    EXPECT_NE(t.find("Access: allowed by rule 2 (\"local\", line 7)"), t.npos) << t;
    EXPECT_NE(t.find("rule 1 (\"blocked\", line 2): no match: destination www.example.test meets "
                     "none of .bad.test"),
              t.npos)
        << t;
    EXPECT_NE(t.find("rule 2 (\"local\", line 7): matches: allow"), t.npos) << t;

    j = run(s, ask("http://www.example.test/", "POST"));
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("method POST is not among GET, CONNECT"), std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: no access rule allows this request"),
              std::string::npos)
        << j.out.text;

    j = run(s, ask("http://x.bad.test/"));
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("Access: denied by rule 1"), std::string::npos) << j.out.text;
    EXPECT_NE(j.out.text.find("ferry: denied by access rule 1 (\"blocked\")"), std::string::npos);

    j = run(s, ask("http://www.example.test/", "", "10.0.0.1"));
    EXPECT_NE(j.out.text.find("client 10.0.0.1 is not in 127.0.0.0/8"), std::string::npos)
        << j.out.text;
}

TEST(Explain, AResolvedAddressInADeniedRangeIsTheConnectorsRefusal) {
    const auto s = load(R"(
[[acl]]
name = "internal"
action = "deny"
dest = ["10.0.0.0/8"]

[[acl]]
action = "allow"
)");
    auto j = run(s, ask("http://intranet.test/"), {"10.1.2.3"});
    EXPECT_EQ(j.out.exit_code, 1) << j.out.text;
    EXPECT_NE(j.out.text.find("10.1.2.3: refused before connecting: ferry: denied by access rule "
                              "1 (\"internal\") (intranet.test is 10.1.2.3); meets rule 1 "
                              "(\"internal\", line 2) deny: 10.0.0.0/8"),
              std::string::npos)
        << j.out.text;
    // Every address is judged before the first attempt: the denied one is skipped, the
    // other may be tried.
    j = run(s, ask("http://intranet.test/"), {"10.1.2.3", "192.0.2.1"});
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("10.1.2.3: refused before connecting"), std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("192.0.2.1: may be tried"), std::string::npos) << j.out.text;
    // Unresolvable: what the client would get.
    j = run(s, ask("http://nowhere.test/"), {});
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("Verdict: refused: 502 ferry: cannot resolve"), std::string::npos)
        << j.out.text;
}

// Safe destinations: explain shows whether they apply, and the verdict on every address.
judged run_safe(const config::settings& s, explain_args args, std::vector<std::string> addresses,
                std::optional<asio::ip::tcp::endpoint> admin = std::nullopt) {
    const std::vector<asio::ip::tcp::endpoint> self{{asio::ip::make_address("0.0.0.0"), 9001}};
    explain_env env{s, policy::default_policy::loopback_and_private, nullptr, self};
    env.admin = admin;
    judged j;
    j.first = explain_first(env, args);
    explain_lookup found;
    for (const auto& a : addresses)
        found.addresses.push_back(asio::ip::make_address(a));
    j.out = explain_finish(env, j.first, found);
    return j;
}

TEST(Explain, SafeDestinationsJudgeEveryAddress) {
    auto s = load("");
    auto j = run_safe(s, ask("http://meta.test/"), {"169.254.169.254"});
    EXPECT_EQ(j.out.exit_code, 1) << j.out.text;
    EXPECT_NE(j.out.text.find("Destinations: safe destinations on (a listener is not on "
                              "loopback)"),
              std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("169.254.169.254: refused before connecting: ferry: destination "
                              "169.254.169.254 is link-local (cloud metadata); allow it with an "
                              "access rule"),
              std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: destination 169.254.169.254 is "
                              "link-local (cloud metadata)"),
              std::string::npos)
        << j.out.text;
    // A protected address next to an allowed one: skipped, the other tried.
    j = run_safe(s, ask("http://mixed.test/"), {"127.0.0.1", "192.0.2.1"});
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("127.0.0.1: refused before connecting: ferry: destination "
                              "127.0.0.1 is loopback"),
              std::string::npos)
        << j.out.text;
    // Literals, mapped forms, and ferry's admin listener.
    j = run_safe(s, ask("http://[::ffff:127.0.0.1]:8080/"), {});
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: destination 127.0.0.1 is loopback"),
              std::string::npos)
        << j.out.text;
    s.private_destinations = "deny";
    j = run_safe(s, ask("http://10.1.2.3:9090/"), {},
                 asio::ip::tcp::endpoint{asio::ip::make_address("10.1.2.3"), 9090});
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: destination 10.1.2.3:9090 is ferry's "
                              "admin listener"),
              std::string::npos)
        << j.out.text;
    j = run_safe(s, ask("http://10.1.2.3:8080/"), {});
    EXPECT_NE(j.out.text.find("destination 10.1.2.3 is private (RFC 1918)"), std::string::npos)
        << j.out.text;
    s.safe_destinations = "off";
    j = run_safe(s, ask("http://meta.test/"), {"169.254.169.254"});
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("safe destinations off (safe_destinations = off)"), std::string::npos)
        << j.out.text;
}

// A loopback listener behind a load balancer (PROXY protocol): auto applies, as in the proxy.
TEST(Explain, AProxyProtocolListenerTurnsSafeDestinationsOn) {
    const auto s = load(R"(
[[listener]]
address = "127.0.0.1:9001"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]
)");
    const auto j = run(s, ask("http://meta.test/"), {"169.254.169.254"});
    EXPECT_EQ(j.out.exit_code, 1) << j.out.text;
    EXPECT_NE(j.out.text.find("Destinations: safe destinations on (a listener takes the PROXY "
                              "protocol)"),
              std::string::npos)
        << j.out.text;
}

TEST(Explain, ARuleNamingAProtectedAddressReopensIt) {
    const auto s = load(R"(
[[acl]]
name = "agent"
action = "allow"
dest = ["169.254.169.254/32"]

[[acl]]
action = "allow"
)");
    auto j = run_safe(s, ask("http://meta.test/"), {"169.254.169.254"});
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("169.254.169.254: may be tried; a protected destination, link-local "
                              "(cloud metadata), that rule 1 (\"agent\", line 2) names"),
              std::string::npos)
        << j.out.text;
    j = run_safe(s, ask("http://meta.test/"), {"169.254.169.253"});
    EXPECT_EQ(j.out.exit_code, 1) << j.out.text;
}

TEST(Explain, ConnectPortsAndTunnelTimeouts) {
    config::settings s;
    auto j = run(s, ask("example.test:22"));
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("CONNECT ports: 22 is not allowed (--connect-ports 443)"),
              std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("Verdict: refused: 403 ferry: CONNECT to port 22 is not allowed"),
              std::string::npos);
    j = run(s, ask("https://example.test/"), {"192.0.2.1"});
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("CONNECT ports: 443 is allowed"), std::string::npos);
    EXPECT_NE(j.out.text.find("tunnel idle 300 s"), std::string::npos) << j.out.text;
}

TEST(Explain, RouteThroughTheParentOrDirectByRule) {
    auto s = load(R"(
parent = "http://127.0.0.1:3128"
direct = [".corp.test", "10.0.0.0/8"]
)");
    auto j = run(s, ask("http://a.corp.test/"), {"192.0.2.1"});
    EXPECT_NE(j.out.text.find("Route: direct: --direct rule 1 (.corp.test) matches a.corp.test"),
              std::string::npos)
        << j.out.text;
    j = run(s, ask("http://www.example.test/"));
    EXPECT_TRUE(j.first.resolve.empty()); // the parent resolves
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("Route: through the parent proxy 127.0.0.1:3128: no --direct rule "
                              "matches www.example.test (.corp.test, 10.0.0.0/8)"),
              std::string::npos)
        << j.out.text;
}

TEST(Explain, UsersOfTheHtpasswdFile) {
    auto s = load(R"(
[auth]
htpasswd = "/nonexistent/users"

[[acl]]
name = "staff"
action = "allow"
users = ["alice"]
)");
    auth::user_table users;
    ASSERT_EQ(
        auth::parse_htpasswd("alice:$2y$04$L/nHwZkvEhHWwZjFogliD.KaRDF/s1GzknG4JP9eCuXVsIommwcli\n",
                             "users", users),
        "");
    auto j = run(s, ask("http://www.example.test/"), {"192.0.2.1"}, &users);
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("Verdict: refused: 407 ferry: proxy authentication required"),
              std::string::npos)
        << j.out.text;
    auto with = ask("http://www.example.test/");
    with.user = "alice";
    j = run(s, with, {"192.0.2.1"}, &users);
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("user alice is in /nonexistent/users"), std::string::npos);
    EXPECT_EQ(j.out.text.find("$2y$"), std::string::npos); // never a hash
    with.user = "bob";
    j = run(s, with, {"192.0.2.1"}, &users);
    EXPECT_EQ(j.out.exit_code, 1);
    EXPECT_NE(j.out.text.find("user bob is not in /nonexistent/users"), std::string::npos)
        << j.out.text;
    EXPECT_NE(j.out.text.find("407 ferry: proxy authentication failed"), std::string::npos);
}

TEST(Explain, NamesAnsweredWithoutDnsAndUsageErrors) {
    config::settings s;
    auto j = run(s, ask("http://localhost:8080/"));
    EXPECT_TRUE(j.first.resolve.empty());
    EXPECT_EQ(j.out.exit_code, 0) << j.out.text;
    EXPECT_NE(j.out.text.find("::1: may be tried"), std::string::npos) << j.out.text;
    j = run(s, ask("http://host.invalid/"));
    EXPECT_EQ(j.out.exit_code, 1);
    // Addressed to ferry itself.
    j = run(s, ask("http://127.0.0.1:9001/"));
    EXPECT_EQ(j.out.exit_code, 0);
    EXPECT_NE(j.out.text.find("status page"), std::string::npos) << j.out.text;
    for (auto bad : {ask("ftp://example.test/"), ask("http://example.test/", "", "nope"),
                     ask("http://u:p@example.test/")}) {
        j = run(s, bad);
        EXPECT_EQ(j.out.exit_code, 2) << bad.target;
        EXPECT_EQ(std::count(j.out.text.begin(), j.out.text.end(), '\n'), 1) << j.out.text;
        EXPECT_TRUE(j.out.text.starts_with("ferry: explain: ")) << j.out.text;
    }
}

} // namespace
} // namespace ferry::app
