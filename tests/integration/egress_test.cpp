// Safe destinations (issue 18) on loopback, with --safe-destinations on: 127.0.0.1 is a
// protected destination, refused through every path that reaches an origin — absolute-form,
// CONNECT, an Upgrade (WebSocket), SOCKS5, a name resolving there, a name rebinding there —
// before any connection (the origin bound there sees none), unless an access rule names it.
// (Link-local, metadata and private destinations: egress_netns_test.cpp, in a namespace.)
#include "support/admin_client.h"
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/netns.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/test_dns.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <memory>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

const std::string loopback_refusal =
    "ferry: destination 127.0.0.1 is loopback; allow it with an access rule";

std::vector<std::string> safe(std::vector<std::string> more = {}) {
    std::vector<std::string> a{"--safe-destinations", "on"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

// One raw request on a new connection to ferry; the whole response.
std::string ask(const ferry_process& ferry, const std::string& request) {
    auto s = tcp_stream::connect_to(ferry.port());
    if (!s.send_all(request)) return {};
    return s.read_response();
}

std::string get(const std::string& authority, const std::string& extra = {}) {
    return fmt::format("GET http://{}/ HTTP/1.1\r\nHost: {}\r\n{}\r\n", authority, authority,
                       extra);
}

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list)
        s += char(b);
    return s;
}

} // namespace

TEST(Egress, AbsoluteFormToLoopbackIsRefusedBeforeConnecting) {
    test_origin origin;
    ferry_process ferry(safe({"--admin-listen", "127.0.0.1:0"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(eventually([&] {
        return ferry.err().find("ferry: safe destinations on (safe_destinations = on)") !=
               std::string::npos;
    })) << ferry.err();
    const auto r = ask(ferry, get(origin.authority()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
    // The access log's cause is the 403's body; the metric counts it by category.
    EXPECT_TRUE(eventually([&] { return ferry.out().find(loopback_refusal) != std::string::npos; }))
        << ferry.out();
    ASSERT_TRUE(ferry.wait_for_out("Admin listener on port"));
    EXPECT_EQ(
        fetch_metric(admin_port(ferry), R"(ferry_destination_denials_total{category="loopback"})"),
        1);
}

TEST(Egress, WithoutTheOptionLoopbackListenersReachLoopback) {
    test_origin origin;
    ferry_process ferry; // auto: every listener on loopback
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.err().find("safe destinations"), std::string::npos) << ferry.err();
    const auto r = ask(ferry, get(origin.authority()));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(origin.connections(), 1);
}

// ferry on 127.0.0.1 behind a load balancer (HAProxy on 0.0.0.0, say) serves whoever the
// load balancer serves: a listener taking the PROXY protocol turns auto on.
TEST(Egress, AutoTurnsOnForALoopbackListenerTakingTheProxyProtocol) {
    test_origin origin;
    temp_file config(R"(
[[listener]]
address = "127.0.0.1:0"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]
)");
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(eventually([&] {
        return ferry.err().find("ferry: safe destinations on (a listener takes the PROXY "
                                "protocol)") != std::string::npos;
    })) << ferry.err();
    const auto r =
        ask(ferry, "PROXY TCP4 127.0.0.9 127.0.0.1 40000 9001\r\n" + get(origin.authority()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Egress, ConnectToLoopbackIsRefused) {
    test_origin origin;
    ferry_process ferry(safe({"--connect-ports", "any"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r =
        ask(ferry, fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", origin.authority()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Egress, WebSocketUpgradeToLoopbackIsRefused) {
    test_origin origin;
    ferry_process ferry(safe());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r =
        ask(ferry, get(origin.authority(), "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                           "Sec-WebSocket-Version: 13\r\n"));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Egress, Socks5ToLoopbackIsNotAllowedByTheRuleset) {
    test_origin origin;
    ferry_process ferry(safe({"--socks5-on-http", "on"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const int p = origin.port();
    ASSERT_TRUE(s.send_all(bytes({5, 1, 0}) + bytes({5, 1, 0, 1, 127, 0, 0, 1, p >> 8, p & 0xff})));
    // Method "no authentication", then reply 0x02: connection not allowed by ruleset.
    EXPECT_EQ(s.read_exact(4), bytes({5, 0, 5, 2}));
    EXPECT_EQ(origin.connections(), 0);
    // The access log: the SOCKS5 reply, then the cause.
    EXPECT_TRUE(eventually([&] {
        return ferry.out().find("(reply 0x02): destination 127.0.0.1 is loopback; allow it with "
                                "an access rule") != std::string::npos;
    })) << ferry.out();
}

TEST(Egress, ANameResolvingToLoopbackIsRefused) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("inside.test", {"127.0.0.1"});
    ferry_process ferry(safe({"--dns-server", dns.server_arg()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r = ask(ferry, get(fmt::format("inside.test:{}", origin.port())));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Egress, NumericFormsOfLoopbackAreRefusedOrJudgedAsLoopback) {
    test_origin origin;
    ferry_process ferry(safe());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int p = origin.port();
    // Numbers a resolver would read as 127.0.0.1 (inet_aton) are not hosts: 400.
    for (const char* host : {"2130706433", "0x7f.1", "0177.0.0.1", "127.1"}) {
        const auto r = ask(ferry, get(fmt::format("{}:{}", host, p)));
        EXPECT_EQ(status_of(r), 400) << host << "\n" << r;
    }
    // IPv6 forms that reach 127.0.0.1 are judged as 127.0.0.1.
    for (const char* host : {"::ffff:127.0.0.1", "::ffff:7f00:1"}) {
        const auto r = ask(ferry, get(fmt::format("[{}]:{}", host, p)));
        EXPECT_EQ(status_of(r), 403) << host << "\n" << r;
        EXPECT_EQ(body_of(r), loopback_refusal + "\n") << host;
    }
    const auto r = ask(ferry, get(fmt::format("[64:ff9b::7f00:1]:{}", p)));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), "ferry: destination 64:ff9b::7f00:1 (127.0.0.1) is loopback; allow it "
                          "with an access rule\n");
    EXPECT_EQ(origin.connections(), 0);
}

TEST(Egress, AnAllowRuleReopensOneAddressAndPortOnly) {
    test_origin origin, other;
    temp_file config(fmt::format(R"(
[[acl]]
name = "local app"
action = "allow"
dest = ["127.0.0.1/32"]
ports = [{}]

[[acl]]
action = "allow"
)",
                                 origin.port()));
    ferry_process ferry(safe({"--config", config.path()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = ask(ferry, get(origin.authority()));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(origin.connections(), 1);
    // Another port falls to the catch-all rule, which re-opens nothing.
    r = ask(ferry, get(other.authority()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(other.connections(), 0);
}

// A rule for every address names no protected one: `0.0.0.0/0` is wider than loopback's
// 127.0.0.0/8, so 127.0.0.1 stays refused — by the proxy and by `ferry explain` alike.
TEST(Egress, ACatchAllRangeReopensNothing) {
    test_origin origin;
    temp_file config(R"(
[[acl]]
action = "allow"
dest = ["0.0.0.0/0", "::/0"]
)");
    ferry_process ferry(safe({"--config", config.path()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r = ask(ferry, get(origin.authority()));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 0);
    const auto e = run_ferry(
        {"explain", "--config", config.path(), "--safe-destinations", "on", origin.url("/")});
    EXPECT_EQ(e.exit_code(), 1) << e.out << e.err;
    EXPECT_NE(e.out.find("Verdict: refused: 403 " + loopback_refusal), std::string::npos) << e.out;
}

// DNS rebinding: the name first answers an address a rule allows (127.0.0.2), then, with a
// TTL of 0, a protected one (127.0.0.1) on the same port. ferry resolves once per connection
// and connects only to the addresses it judged: the origin on 127.0.0.1 never sees a
// connection.
TEST(Egress, ANameRebindingToLoopbackNeverReachesIt) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    // The same port on both addresses: a port free on 127.0.0.2 may be another test's on
    // 127.0.0.1 (ctest runs tests at once), so a few tries.
    std::unique_ptr<address_origin> allowed, target;
    for (int i = 0; i < 20 && !(target && target->ok()); ++i) {
        allowed = std::make_unique<address_origin>("127.0.0.2");
        ASSERT_TRUE(allowed->ok());
        target = std::make_unique<address_origin>("127.0.0.1", allowed->port());
    }
    ASSERT_TRUE(target->ok()) << "no port free on both 127.0.0.1 and 127.0.0.2";
    temp_file config(R"(
[[acl]]
action = "allow"
dest = ["127.0.0.2/32"]

[[acl]]
action = "allow"
)");
    ferry_process ferry(safe({"--config", config.path(), "--dns-server", dns.server_arg()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto authority = fmt::format("rebind.test:{}", allowed->port());
    dns.set("rebind.test", {"127.0.0.2"}, 0);
    auto r = ask(ferry, get(authority));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), "origin 127.0.0.2\n");
    // One resolution: A and AAAA asked once each (a second look-up, between the check and the
    // connect, would double it).
    const int one_resolution = dns.queries("rebind.test");
    EXPECT_GT(one_resolution, 0);
    EXPECT_LE(one_resolution, 2);
    dns.set("rebind.test", {"127.0.0.1"}, 0);
    for (int i = 0; i < 3; ++i) {
        const int before = dns.queries("rebind.test");
        r = ask(ferry, get(authority));
        EXPECT_EQ(status_of(r), 403) << r;
        EXPECT_EQ(body_of(r), loopback_refusal + "\n");
        // One resolution per request: no second look-up between the check and the connect.
        EXPECT_EQ(dns.queries("rebind.test") - before, one_resolution);
    }
    EXPECT_EQ(target->connections(), 0);
    EXPECT_EQ(allowed->connections(), 1);
}

// A parent proxy is trusted (it is on loopback here, and reached); through it ferry never
// learns the address a name reaches, but an IP-literal host is judged before anything is sent.
TEST(Egress, ThroughAParentLiteralsAreJudgedAndTheParentIsTrusted) {
    test_origin parent; // answers "hello" to whatever request reaches it
    ferry_process ferry(
        safe({"--parent", "http://" + parent.authority(), "--admin-listen", "127.0.0.1:0"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_TRUE(ferry.wait_for_out("Admin listener on port"));
    // What the host says by itself: a literal with a trailing dot, "localhost" names, the
    // admin listener's endpoint.
    auto r = ask(ferry, get("169.254.169.254."));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), "ferry: destination 169.254.169.254 is link-local (cloud metadata); "
                          "allow it with an access rule\n");
    for (const char* host : {"localhost:8080", "app.localhost"}) {
        r = ask(ferry, get(host));
        EXPECT_EQ(status_of(r), 403) << host << "\n" << r;
        EXPECT_EQ(body_of(r), "ferry: destination ::1 is loopback; allow it with an access rule\n")
            << host;
    }
    const auto admin = fmt::format("127.0.0.1:{}", admin_port(ferry));
    r = ask(ferry, get(admin));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), fmt::format("ferry: destination {} is ferry's admin listener; allow it "
                                      "with an access rule\n",
                                      admin));
    // ferry explain says the same.
    for (const char* url : {"http://169.254.169.254./", "http://localhost/"}) {
        const auto e = run_ferry({"explain", "--safe-destinations", "on", "--parent",
                                  "http://" + parent.authority(), url});
        EXPECT_EQ(e.exit_code(), 1) << url << "\n" << e.out << e.err;
        EXPECT_NE(e.out.find("Verdict: refused: 403 ferry: destination "), std::string::npos)
            << e.out;
    }
    r = ask(ferry, get("127.0.0.1:8080"));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    r = ask(ferry, get("[::ffff:169.254.169.254]:80"));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), "ferry: destination 169.254.169.254 is link-local (cloud metadata); "
                          "allow it with an access rule\n");
    EXPECT_EQ(parent.connections(), 0);
    r = ask(ferry, get("www.example.test"));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(parent.connections(), 1);
}

// The options are read again on SIGHUP, like the access rules; turning them back on is said.
TEST(Egress, AReloadTurnsThemOffAndOn) {
    test_origin origin;
    temp_file config("safe_destinations = \"on\"\n");
    // One worker: the connection pooled while off is the one the request after "on" finds.
    ferry_process ferry({"--config", config.path(), "--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(status_of(ask(ferry, get(origin.authority()))), 403);
    const auto reload = [&](const std::string& text) {
        std::ofstream(config.path()) << text;
        const auto before = ferry.err().size();
        if (::kill(ferry.pid(), SIGHUP) != 0) return false;
        return eventually([&] {
            return ferry.err().find("ferry: configuration reloaded", before) != std::string::npos;
        });
    };
    ASSERT_TRUE(reload("safe_destinations = \"off\"\n")) << ferry.err();
    EXPECT_EQ(status_of(ask(ferry, get(origin.authority()))), 200);
    EXPECT_EQ(origin.connections(), 1);
    const auto before = ferry.err().size();
    ASSERT_TRUE(reload("safe_destinations = \"on\"\n")) << ferry.err();
    EXPECT_NE(ferry.err().find("ferry: safe destinations on", before), std::string::npos)
        << ferry.err();
    EXPECT_EQ(status_of(ask(ferry, get(origin.authority()))), 403);
    EXPECT_EQ(origin.connections(), 1);
}

// An origin connection pooled for a client a rule lets reach 127.0.0.1 is not handed to a
// client the rule does not name: it is judged again and closed (put back, it would count as
// idle from then on, and refused clients would keep it alive for ever); the allowed client's
// next request opens a new one.
TEST(Egress, APooledConnectionIsJudgedAgainForAnotherClient) {
    test_origin origin;
    temp_file config(R"(
[[acl]]
action = "allow"
client = ["127.0.0.2/32"]
dest = ["127.0.0.1/32"]

[[acl]]
action = "allow"
)");
    ferry_process ferry(safe({"--config", config.path(), "--workers", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client allowed;
    const curl_request from_127_0_0_2{
        .url = origin.url("/"), .proxy = ferry.proxy_url(), .interface = "127.0.0.2"};
    auto r = allowed.perform(from_127_0_0_2);
    EXPECT_EQ(r.status, 200) << r.body;
    const auto other = ask(ferry, get(origin.authority()));
    EXPECT_EQ(status_of(other), 403) << other;
    EXPECT_EQ(body_of(other), loopback_refusal + "\n");
    EXPECT_TRUE(origin.wait_closed(1, 3s)) << "the refused pooled connection stays open";
    r = allowed.perform(from_127_0_0_2);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(origin.connections(), 2);
}

namespace {

// An origin that, like an NTLM server, logs a connection in once a request on it carried
// `Authorization: NTLM ...` (ferry then pins that connection to the client).
void ntlm_like(origin_connection& c) {
    bool logged_in = false;
    for (int i = 0; i < 20; ++i) {
        auto head = c.read_head(5s);
        if (head.empty()) return;
        if (head.find("\r\nAuthorization: NTLM ") != std::string::npos) logged_in = true;
        const std::string body = logged_in ? "logged in" : "who are you?";
        std::string answer = logged_in ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 401 Unauthorized\r\n";
        if (!logged_in) answer += "WWW-Authenticate: NTLM\r\n";
        answer += fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
        if (!c.send(answer)) return;
    }
}

} // namespace

// A connection pinned to the client by NTLM is judged again too, for each request: the
// rule that re-opens 127.0.0.1 for GET does not carry the client's POST on it.
TEST(Egress, APinnedConnectionIsJudgedAgain) {
    test_origin origin(ntlm_like);
    temp_file config(R"(
[[acl]]
action = "allow"
dest = ["127.0.0.1/32"]
methods = ["GET"]

[[acl]]
action = "allow"
)");
    ferry_process ferry(safe({"--config", config.path()}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto client = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(client.send_all(get(origin.authority(), "Authorization: NTLM TlRMTVNTUAAB\r\n")));
    auto r = client.read_response();
    ASSERT_EQ(status_of(r), 200) << r;
    ASSERT_TRUE(client.send_all(
        fmt::format("POST http://{0}/ HTTP/1.1\r\nHost: {0}\r\nContent-Length: 0\r\n\r\n",
                    origin.authority())));
    r = client.read_response();
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), loopback_refusal + "\n");
    EXPECT_EQ(origin.connections(), 1);
}

// A request is one refusal in /metrics, however many addresses it had: "localhost" (::1 and
// 127.0.0.1) counts one; a name with a refused and an allowed address, reached, counts none.
TEST(Egress, ARefusedRequestIsCountedOnce) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    address_origin allowed("127.0.0.2");
    ASSERT_TRUE(allowed.ok());
    dns.set("two.test", {"127.0.0.1", "127.0.0.2"});
    temp_file config(R"(
[[acl]]
action = "allow"
dest = ["127.0.0.2/32"]

[[acl]]
action = "allow"
)");
    ferry_process ferry(safe({"--config", config.path(), "--dns-server", dns.server_arg(),
                              "--admin-listen", "127.0.0.1:0"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_TRUE(ferry.wait_for_out("Admin listener on port"));
    const auto loopback_denials = [&] {
        return fetch_metric(admin_port(ferry),
                            R"(ferry_destination_denials_total{category="loopback"})");
    };
    auto r = ask(ferry, get(fmt::format("two.test:{}", allowed.port())));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(allowed.connections(), 1);
    EXPECT_EQ(loopback_denials(), 0);
    r = ask(ferry, get(fmt::format("localhost:{}", allowed.port())));
    EXPECT_EQ(status_of(r), 403) << r;
    EXPECT_EQ(body_of(r), "ferry: destination ::1 is loopback; allow it with an access rule\n");
    EXPECT_TRUE(eventually([&] { return loopback_denials() == 1; })) << loopback_denials();
    EXPECT_EQ(loopback_denials(), 1);
}

// `ferry explain` judges every address as the connector would, without connecting: the
// metadata address a name resolves to, and the admin listener's own endpoint.
TEST(Egress, ExplainShowsTheVerdictOnEveryAddress) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("meta.test", {"169.254.169.254"});
    auto r = run_ferry({"explain", "--safe-destinations", "on", "--dns-server", dns.server_arg(),
                        "http://meta.test/latest/meta-data/"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_NE(r.out.find("169.254.169.254: refused before connecting: ferry: destination "
                         "169.254.169.254 is link-local (cloud metadata); allow it with an access "
                         "rule"),
              std::string::npos)
        << r.out;
    r = run_ferry({"explain", "--safe-destinations", "on", "--admin-listen", "127.0.0.1:9999",
                   "http://127.0.0.1:9999/metrics"});
    EXPECT_EQ(r.exit_code(), 1) << r.out << r.err;
    EXPECT_NE(r.out.find("Verdict: refused: 403 ferry: destination 127.0.0.1:9999 is ferry's "
                         "admin listener; allow it with an access rule"),
              std::string::npos)
        << r.out;
    r = run_ferry({"explain", "--safe-destinations", "off", "--dns-server", dns.server_arg(),
                   "http://meta.test/"});
    EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Destinations: safe destinations off (safe_destinations = off)"),
              std::string::npos)
        << r.out;
}
