// The status page's data on the admin listener (issue 16): /api/status moves with the traffic
// sent through ferry (exact bytes), the SSE streams deliver ticks and exchanges, /flow and the
// API never show secret header values, admin credentials (token, Basic), the reload history,
// and HTML escaping of what clients send.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <boost/json/src.hpp>
#include <csignal>
#include <fmt/format.h>

using namespace ferry_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string get(int port, const std::string& path, const std::string& extra = "") {
    auto s = tcp_stream::connect_to(port);
    if (!s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n", path, extra)))
        return {};
    return s.read_response(5s);
}

json::value status(int admin) {
    const std::string body(body_of(get(admin, "/api/status")));
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    return ec ? json::value() : v;
}

std::uint64_t number(const json::value& v, std::initializer_list<std::string_view> path) {
    const json::value* at = &v;
    for (auto key : path) {
        if (!at->is_object() || !at->as_object().contains(key)) return ~std::uint64_t(0);
        at = &at->as_object().at(key);
    }
    return at->is_int64() ? std::uint64_t(at->as_int64()) : at->to_number<std::uint64_t>();
}

// One request through ferry on its own connection: the exact bytes each way.
struct sent_and_received {
    std::size_t sent = 0, received = 0;
    int status = 0;
};
sent_and_received through(const ferry_process& ferry, const std::string& request) {
    auto s = tcp_stream::connect_to(ferry.port());
    sent_and_received r;
    if (!s.send_all(request)) return r;
    r.sent = request.size();
    auto response = s.read_until_close(5s);
    r.received = response.size();
    r.status = status_of(response);
    return r;
}

std::string request_to(const test_origin& origin, const std::string& path,
                       const std::string& extra = "") {
    return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n{}Connection: close\r\n\r\n",
                       origin.url(path), origin.authority(), extra);
}

const std::string secrets = "Authorization: Bearer secret-bearer-1\r\n"
                            "Proxy-Authorization: Basic c2VjcmV0LXByb3h5LTI=\r\n"
                            "Cookie: session=secret-cookie-3\r\n";

void expect_no_secret(std::string_view text, std::string_view where) {
    for (auto secret : {"secret-bearer-1", "c2VjcmV0LXByb3h5LTI=", "secret-cookie-3"})
        EXPECT_EQ(text.find(secret), std::string_view::npos) << where << " shows " << secret;
}

} // namespace

TEST(StatusApi, NumbersMoveWithTraffic) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--workers", "2"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_GT(admin, 0) << ferry.out();
    const auto before = status(admin);
    ASSERT_TRUE(before.is_object());
    EXPECT_EQ(number(before, {"totals", "requests"}), 0u);
    EXPECT_EQ(before.at("series").at("t").as_array().size(), 900u);

    std::size_t sent = 0, received = 0;
    std::vector<int> statuses;
    for (const char* path :
         {"/size/1000", "/size/2000", "/size/10", "/status/404", "/status/503"}) {
        auto r = through(ferry, request_to(origin, path));
        sent += r.sent;
        received += r.received;
        statuses.push_back(r.status);
    }
    EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 404, 503}));
    json::value now;
    ASSERT_TRUE(eventually([&] {
        now = status(admin);
        return number(now, {"totals", "requests"}) == 5;
    })) << json::serialize(now);
    EXPECT_EQ(number(now, {"totals", "bytes_from_clients"}), sent);
    EXPECT_EQ(number(now, {"totals", "bytes_to_clients"}), received);
    EXPECT_EQ(number(now, {"totals", "status", "2xx"}), 3u);
    EXPECT_EQ(number(now, {"totals", "status", "4xx"}), 1u);
    EXPECT_EQ(number(now, {"totals", "status", "5xx"}), 1u);
    const auto& hosts = now.at("hosts").as_array();
    ASSERT_EQ(hosts.size(), 1u) << json::serialize(now);
    EXPECT_EQ(hosts[0].at("host").as_string(), origin.authority());
    EXPECT_EQ(number(hosts[0], {"requests"}), 5u);
    EXPECT_EQ(number(hosts[0], {"bytes_to_clients"}), received);
    EXPECT_EQ(number(hosts[0], {"errors"}), 1u) << "the 503";
    EXPECT_EQ(number(hosts[0], {"new_connections"}) + number(hosts[0], {"reused_connections"}), 5u);
    EXPECT_EQ(now.at("acl").as_array().at(0).at("name").as_string(), "default");

    // The series: once the second of the exchanges is complete, it holds them.
    ASSERT_TRUE(eventually(
        [&] {
            now = status(admin);
            std::uint64_t requests = 0;
            for (const auto& n : now.at("series").at("requests").as_array())
                requests += std::uint64_t(n.as_int64());
            return requests == 5;
        },
        4s))
        << json::serialize(now.at("series").at("requests"));
    bool timed = false;
    for (const auto& p : now.at("series").at("p99_ms").as_array())
        timed = timed || p.is_double();
    EXPECT_TRUE(timed) << "a second with exchanges has percentiles";
    const auto metrics = get(admin, "/metrics");
    EXPECT_NE(metrics.find("ferry_acl_denials_by_rule_total{rule=\"0\",name=\"default\"} 0"),
              std::string::npos);
    EXPECT_NE(metrics.find("ferry_admin_clients 0"), std::string::npos);
}

TEST(StatusApi, StreamsDeliverTicksAndExchanges) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--workers", "2"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_GT(admin, 0) << ferry.out();

    auto ticks = tcp_stream::connect_to(admin);
    ASSERT_TRUE(ticks.send_all("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto flow = tcp_stream::connect_to(admin);
    ASSERT_TRUE(flow.send_all("GET /api/flow/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto head = flow.read_until("retry: 2000\n\n", 3s);
    EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    ASSERT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_admin_clients") == 2; }));

    auto r = through(ferry, request_to(origin, "/size/5", secrets));
    EXPECT_EQ(r.status, 200);
    auto events = flow.read_until("\n\n", 3s);
    EXPECT_NE(events.find("event: exchange"), std::string::npos) << events;
    EXPECT_NE(events.find("id: 1\n"), std::string::npos) << events;
    EXPECT_NE(events.find("/size/5 HTTP/1.1"), std::string::npos) << events;
    expect_no_secret(events, "/api/flow/events");

    std::string got = ticks.read_until("event: tick", 3s);
    got += ticks.read_until("event: tick", 3s);
    got += ticks.read_until("\n\n", 3s);
    ASSERT_EQ(std::count(got.begin(), got.end(), 'k') >= 2, true);
    EXPECT_NE(got.find("\"sample\":{\"t\":"), std::string::npos) << printable(got);
    EXPECT_EQ(got.find("\"series\""), std::string::npos) << "a tick carries no series";

    // Reconnecting with Last-Event-ID replays what came after it.
    through(ferry, request_to(origin, "/size/6"));
    auto again = tcp_stream::connect_to(admin);
    ASSERT_TRUE(again.send_all(
        "GET /api/flow/events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: 1\r\n\r\n"));
    auto replay = again.read_until("id: 2\n", 3s);
    replay += again.read_until("\n\n", 3s);
    EXPECT_NE(replay.find("/size/6"), std::string::npos) << replay;

    // Closed streams are noticed and no longer counted.
    ticks.close();
    flow.close();
    again.close();
    EXPECT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_admin_clients") == 0; }, 5s));

    const std::string page(body_of(get(admin, "/flow")));
    EXPECT_NE(page.find("data-seq=\"1\""), std::string::npos) << page;
    expect_no_secret(page, "/flow");
    expect_no_secret(get(admin, "/api/flow?after=0"), "/api/flow");
}

TEST(StatusApi, HostileClientTextIsEscaped) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    through(ferry, request_to(origin, "/size/1", "User-Agent: <script>alert(1)</script>\r\n"));
    through(ferry, "GET http://<img src=x>/ HTTP/1.1\r\nHost: <b>\r\n\r\n");
    std::string page;
    ASSERT_TRUE(eventually([&] {
        page = std::string(body_of(get(admin, "/flow")));
        return page.find("data-seq=\"2\"") != std::string::npos;
    })) << page;
    EXPECT_EQ(page.find("<script>alert"), std::string::npos) << page;
    EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << page;
    EXPECT_EQ(page.find("<img"), std::string::npos) << page;
    const std::string tables(body_of(get(admin, "/")));
    EXPECT_EQ(tables.find("<img"), std::string::npos) << tables;
    EXPECT_NE(tables.find("<table id=\"hosts\">"), std::string::npos) << tables;
}

TEST(StatusApi, TokenAuth) {
    temp_file token("s3cr3t-token\n");
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--admin-auth", "token",
                         "--admin-token-file", token.path()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    auto none = get(admin, "/api/status");
    EXPECT_EQ(status_of(none), 401) << none;
    EXPECT_NE(none.find("WWW-Authenticate: Bearer realm=\"ferry admin\""), std::string::npos);
    EXPECT_EQ(status_of(get(admin, "/", "Authorization: Bearer wrong\r\n")), 401);
    EXPECT_EQ(status_of(get(admin, "/metrics", "Authorization: Bearer s3cr3t-token\r\n")), 200);
    EXPECT_EQ(status_of(get(admin, "/flow", "Authorization: Bearer s3cr3t-token\r\n")), 200);
    EXPECT_EQ(status_of(get(admin, "/healthz")), 200) << "monitoring stays open";
    auto stream = tcp_stream::connect_to(admin);
    ASSERT_TRUE(stream.send_all("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    EXPECT_EQ(status_of(stream.read_response(3s)), 401);
}

TEST(StatusApi, TokenAuthNeedsItsFile) {
    auto r = run_ferry({"0", "--admin-listen", "127.0.0.1:0", "--admin-auth", "token"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    auto missing = run_ferry({"0", "--admin-listen", "127.0.0.1:0", "--admin-auth", "token",
                              "--admin-token-file", "/nonexistent/token"});
    EXPECT_EQ(missing.exit_code(), 2) << missing.err;
    EXPECT_NE(missing.err.find("/nonexistent/token"), std::string::npos) << missing.err;
    auto basic = run_ferry({"0", "--admin-listen", "127.0.0.1:0", "--admin-auth", "basic"});
    EXPECT_EQ(basic.exit_code(), 2) << basic.err;
    EXPECT_NE(basic.err.find("htpasswd"), std::string::npos) << basic.err;
}

TEST(StatusApi, BasicAuthWithTheHtpasswdUsers) {
    temp_file users(shell_output("htpasswd -nbm admin adm1n-pass") + "\n");
    ferry_process ferry(
        {"--admin-listen", "127.0.0.1:0", "--admin-auth", "basic", "--htpasswd", users.path()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    auto none = get(admin, "/");
    EXPECT_EQ(status_of(none), 401);
    EXPECT_NE(none.find("WWW-Authenticate: Basic realm=\"ferry admin\""), std::string::npos);
    const auto right = shell_output("printf '%s' 'admin:adm1n-pass' | base64 -w0");
    const auto wrong = shell_output("printf '%s' 'admin:nope' | base64 -w0");
    EXPECT_EQ(status_of(get(admin, "/", "Authorization: Basic " + wrong + "\r\n")), 401);
    EXPECT_EQ(status_of(get(admin, "/", "Authorization: Basic " + right + "\r\n")), 200);
}

TEST(StatusApi, ReloadHistory) {
    const std::string base = "listen = [\"127.0.0.1:0\"]\nadmin_listen = \"127.0.0.1:0\"\n";
    temp_file config(base + "workers = 1\n");
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    EXPECT_EQ(status(admin).at("reloads").as_array().size(), 0u);
    std::ofstream(config.path()) << base + "idle_timeout = 7\nworkers = 2\n"
                                 << "[[acl]]\naction = \"allow\"\nname = \"office\"\n"
                                 << "client = [\"127.0.0.0/8\"]\n";
    ASSERT_EQ(::kill(ferry.pid(), SIGHUP), 0);
    json::value now;
    ASSERT_TRUE(eventually([&] {
        now = status(admin);
        return now.at("reloads").as_array().size() == 1;
    })) << ferry.err();
    const auto& last = now.at("reloads").as_array()[0];
    EXPECT_TRUE(last.at("ok").as_bool()) << json::serialize(last) << ferry.err();
    const auto changed = json::serialize(last.at("changed"));
    EXPECT_NE(changed.find("\"idle_timeout\""), std::string::npos) << changed;
    EXPECT_NE(changed.find("\"acl\""), std::string::npos) << changed;
    EXPECT_EQ(json::serialize(last.at("restart_needed")), "[\"workers\"]");
    ASSERT_EQ(now.at("acl").as_array().size(), 2u);
    EXPECT_EQ(now.at("acl").as_array()[1].at("name").as_string(), "office");

    std::ofstream(config.path()) << "this is not toml = = =\n";
    ASSERT_EQ(::kill(ferry.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] {
        now = status(admin);
        return now.at("reloads").as_array().size() == 2;
    })) << ferry.err();
    EXPECT_FALSE(now.at("reloads").as_array()[0].at("ok").as_bool()) << "newest first";
}

TEST(StatusApi, DenialsAndAuthFailuresByRule) {
    test_origin origin;
    temp_file users(shell_output("htpasswd -nbm alice right-pass") + "\n");
    temp_file config(fmt::format("listen = [\"127.0.0.1:0\"]\nadmin_listen = \"127.0.0.1:0\"\n"
                                 "workers = 1\n[auth]\nhtpasswd = \"{}\"\n"
                                 "[[acl]]\naction = \"deny\"\nname = \"no-blocked\"\n"
                                 "dest = [\"blocked.localhost\"]\n"
                                 "[[acl]]\naction = \"allow\"\nname = \"staff\"\n"
                                 "users = [\"*\"]\n",
                                 users.path()));
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    EXPECT_EQ(through(ferry, "GET http://blocked.localhost/ HTTP/1.1\r\nHost: blocked.localhost"
                             "\r\nConnection: close\r\n\r\n")
                  .status,
              403);
    const auto wrong = shell_output("printf '%s' 'alice:wrong' | base64 -w0");
    EXPECT_EQ(through(ferry,
                      request_to(origin, "/size/1", "Proxy-Authorization: Basic " + wrong + "\r\n"))
                  .status,
              407);
    json::value now;
    ASSERT_TRUE(eventually([&] {
        now = status(admin);
        return number(now, {"totals", "requests"}) == 2;
    })) << json::serialize(now);
    const auto& acl = now.at("acl").as_array();
    ASSERT_EQ(acl.size(), 3u) << json::serialize(now.at("acl"));
    EXPECT_EQ(acl[1].at("name").as_string(), "no-blocked");
    EXPECT_EQ(number(acl[1], {"denials"}), 1u);
    EXPECT_EQ(acl[2].at("name").as_string(), "staff");
    EXPECT_EQ(number(acl[2], {"auth_failures"}), 1u) << "the rule that asked for credentials";
    const auto metrics = get(admin, "/metrics");
    EXPECT_NE(metrics.find("ferry_acl_denials_by_rule_total{rule=\"1\",name=\"no-blocked\"} 1"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("ferry_auth_failures_by_rule_total{rule=\"2\",name=\"staff\"} 1"),
              std::string::npos);
}

TEST(StatusApi, PagesOnTheProxyPortOnlyWhenAskedFor) {
    temp_file token("tok-on-proxy\n");
    ferry_process off({"--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(off.started()) << off.err();
    {
        auto s = tcp_stream::connect_to(off.port());
        s.send_all(fmt::format(
            "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            off.port()));
        auto hint = s.read_until_close(5s);
        EXPECT_EQ(status_of(hint), 200) << hint;
        EXPECT_NE(hint.find("forward proxy"), std::string::npos) << "the short page" << hint;
        EXPECT_EQ(hint.find("\"totals\""), std::string::npos) << "no figures" << hint;
    }
    ferry_process on({"--admin-listen", "127.0.0.1:0", "--status-on-proxy-port", "on",
                      "--admin-auth", "token", "--admin-token-file", token.path()});
    ASSERT_TRUE(on.started()) << on.err();
    auto ask = [&](const std::string& target, const std::string& extra) {
        auto s = tcp_stream::connect_to(on.port());
        s.send_all(
            fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{}Connection: close\r\n\r\n",
                        target, on.port(), extra));
        return s.read_until_close(5s);
    };
    EXPECT_EQ(status_of(ask("/api/status", "")), 401) << "the admin credentials apply";
    const std::string bearer = "Authorization: Bearer tok-on-proxy\r\n";
    auto json_answer = ask(fmt::format("http://127.0.0.1:{}/api/status", on.port()), bearer);
    EXPECT_EQ(status_of(json_answer), 200) << json_answer;
    EXPECT_NE(json_answer.find("\"series\":{\"t\":["), std::string::npos);
    auto page = ask("/", bearer);
    EXPECT_NE(page.find("<table id=\"hosts\">"), std::string::npos) << printable(page);
    EXPECT_EQ(status_of(ask("/api/events", bearer)), 404) << "no stream on a proxy port";

    // A client the access rules refuse gets the short page, credentials or not: the proxy
    // port may face clients the admin listener never sees.
    temp_file config("admin_listen = \"127.0.0.1:0\"\nstatus_on_proxy_port = true\n"
                     "[[acl]]\naction = \"deny\"\nclient = [\"127.0.0.1/32\"]\n");
    ferry_process refused({"--config", config.path()});
    ASSERT_TRUE(refused.started()) << refused.err();
    auto s = tcp_stream::connect_to(refused.port());
    s.send_all(
        fmt::format("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    refused.port()));
    auto hint = s.read_until_close(5s);
    EXPECT_EQ(status_of(hint), 200) << hint;
    EXPECT_NE(hint.find("forward proxy"), std::string::npos) << "the short page" << hint;
    EXPECT_EQ(hint.find("\"totals\""), std::string::npos) << "no figures" << hint;
}
