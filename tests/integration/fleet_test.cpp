// A fleet behind a load balancer (issue 17, docs/scaling.md): HAProxy in TCP mode, sending
// the PROXY protocol v2, balancing two ferries that read one shared configuration file, with
// HTTP health checks on each ferry's /healthz. Clients connect from 127.0.0.7 and 127.0.0.8
// (all of 127/8 is loopback on Linux; curl --interface), so that ferry's client rules and
// access logs can be seen to judge the real client and not the balancer (127.0.0.1).
// Draining: SIGTERM to one ferry while clients keep sending; nothing may fail.
#include "support/admin_client.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/haproxy.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <sstream>
#include <sys/wait.h>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// What every instance reads: the same file on every machine of a fleet. Each instance's
// proxy and admin ports are picked by the kernel here (port 0); a real fleet writes fixed ones.
// The balancer (127.0.0.1) is trusted to send the PROXY header; client rules then judge the
// address it carries. The origins are on loopback, which safe destinations (on behind a
// PROXY-protocol listener) would refuse.
const std::string shared_config = R"(# ferry fleet (fleet_test.cpp)
safe_destinations = "off"
admin_listen = "127.0.0.1:0"
shutdown_timeout = 5
log_flush_interval = 0

[[listener]]
address = "http://127.0.0.1:0"
proxy_protocol = true
proxy_protocol_from = ["127.0.0.1/32"]

[[acl]]
action = "deny"
name = "not-from-8"
client = ["127.0.0.8/32"]

[[acl]]
action = "allow"
name = "loopback-clients"
client = ["127.0.0.0/8"]
)";

// HAProxy in TCP mode: round robin over the two ferries, PROXY v2 on every connection to
// them, an HTTP check of /healthz on each admin port every 100 ms (one failure takes a
// server out, two successes bring it back), and a refused connection retried on the other
// server (retries + redispatch on every retry). A stats page for the test to read states.
std::string haproxy_config(int front, int stats, int a_port, int a_admin, int b_port, int b_admin) {
    return fmt::format(R"(global
    maxconn 512

defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch 1

listen ferry
    bind 127.0.0.1:{}
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 100ms fastinter 100ms downinter 100ms fall 1 rise 2 send-proxy-v2
    server a 127.0.0.1:{} check port {}
    server b 127.0.0.1:{} check port {}

listen stats
    mode http
    bind 127.0.0.1:{}
    stats enable
    stats uri /
)",
                       front, a_port, a_admin, b_port, b_admin, stats);
}

// The status HAProxy's stats page (`stats uri /` on 127.0.0.1:`stats_port`) gives `server` of
// `proxy`, as its CSV says it: "UP", "DOWN", "no check"...; "" when not found.
std::string server_status(int stats_port, const std::string& proxy, const std::string& server) {
    auto s = tcp_stream::connect_to(stats_port);
    if (!s.ok()) return {};
    s.send_all("GET /;csv HTTP/1.0\r\n\r\n");
    const auto reply = s.read_until_close(2s);
    // "# pxname,svname,...,status,...": the status column found by its name.
    std::size_t column = 0;
    std::stringstream lines{std::string(body_of(reply))};
    for (std::string line; std::getline(lines, line);) {
        const bool header = line.rfind("# ", 0) == 0;
        std::vector<std::string> fields;
        std::stringstream in(header ? line.substr(2) : line);
        for (std::string field; std::getline(in, field, ',');)
            fields.push_back(field);
        if (header) {
            for (std::size_t i = 0; i < fields.size(); ++i)
                if (fields[i] == "status") column = i;
        } else if (fields.size() > column && fields[0] == proxy && fields[1] == server) {
            return fields[column];
        }
    }
    return {};
}

// Two ferries on the shared file, HAProxy in front, an origin behind.
struct fleet {
    test_origin origin;
    temp_file config{shared_config};
    ferry_process a{{"--config", config.path()}, false};
    ferry_process b{{"--config", config.path()}, false};
    int front = unused_port();
    int stats = unused_port();
    std::optional<haproxy_process> balancer;

    // Empty when every part is up and HAProxy sees both ferries healthy; else why not.
    std::string start() {
        if (!a.started() || !b.started()) return "ferry did not start: " + a.err() + b.err();
        // A port found free can be taken by another process before HAProxy binds it: then
        // again with others.
        for (int attempt = 0; attempt < 3 && !balancer; ++attempt) {
            while (front == stats)
                stats = unused_port();
            balancer.emplace(
                haproxy_config(front, stats, a.port(), admin_port(a), b.port(), admin_port(b)));
            if (balancer->ready({front, stats})) break;
            const auto log = balancer->log();
            if (log.find("Address already in use") == std::string::npos)
                return "HAProxy did not start: " + log;
            balancer.reset();
            front = unused_port();
            stats = unused_port();
        }
        if (!balancer) return "HAProxy found no free port";
        const bool up = eventually([&] {
            return server_status(stats, "ferry", "a") == "UP" &&
                   server_status(stats, "ferry", "b") == "UP";
        });
        return up ? "" : "HAProxy does not see both ferries UP: " + balancer->log();
    }

    // GET `path` from the origin through the balancer, from the client address `from`.
    curl_response get(curl_client& client, const std::string& from, const std::string& path) {
        return client.perform({.url = origin.url(path),
                               .proxy = "http://127.0.0.1:" + std::to_string(front),
                               .timeout_ms = 10000,
                               .interface = from});
    }
};

// ferry's access-log lines (ferry format: the client address first) among what it printed.
std::vector<std::string> access_lines(const ferry_process& ferry) {
    std::vector<std::string> out;
    for (auto& line : lines_of(ferry.out()))
        if (line.find(" GET http://") != std::string::npos) out.push_back(line);
    return out;
}

std::size_t count_with(const std::vector<std::string>& lines, const std::string& needle) {
    std::size_t n = 0;
    for (const auto& l : lines)
        n += l.find(needle) != std::string::npos;
    return n;
}

} // namespace

// (1) The [[acl]] client rule and the access log see the client, not the balancer: 127.0.0.7
// is served and 127.0.0.8 refused by rule "not-from-8", by whichever instance gets the
// connection, and both ferries' logs name the client's address on every line.
TEST(Fleet, ClientRulesAndLogsSeeTheRealClientThroughTheBalancer) {
    if (!haproxy_process::installed()) GTEST_SKIP() << "haproxy is not installed";
    fleet f;
    ASSERT_EQ(f.start(), "");
    // Four requests from each address, a new connection each.
    for (const std::string from : {"127.0.0.7", "127.0.0.8"}) {
        for (int i = 0; i < 4; ++i) {
            curl_client client;
            const auto r = f.get(client, from, "/size/100");
            ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code) << f.balancer->log();
            if (from == "127.0.0.7") {
                EXPECT_EQ(r.status, 200) << from << " " << r.body;
                EXPECT_EQ(r.body_size, 100u);
            } else {
                EXPECT_EQ(r.status, 403) << from << " " << r.body;
                EXPECT_NE(r.body.find("not-from-8"), std::string::npos) << r.body;
            }
        }
    }
    // Round robin spreads them (not always exactly two and two: HAProxy's weights move while
    // the checks settle); every line names the client, with the rule's verdict for it.
    ASSERT_TRUE(eventually([&] {
        return access_lines(f.a).size() + access_lines(f.b).size() == 8;
    })) << f.a.out()
        << f.b.out();
    std::size_t allowed = 0, denied = 0;
    for (const auto* ferry : {&f.a, &f.b}) {
        const auto lines = access_lines(*ferry);
        EXPECT_GE(lines.size(), 2u) << "round robin\n" << ferry->out();
        for (const auto& line : lines) {
            const bool from_7 = line.find(" 127.0.0.7:") != std::string::npos;
            const bool from_8 = line.find(" 127.0.0.8:") != std::string::npos;
            EXPECT_TRUE(from_7 || from_8) << "not the client's address: " << line;
            if (from_7) allowed += line.find(" 200 ") != std::string::npos;
            if (from_8) denied += line.find(" 403 ") != std::string::npos;
        }
    }
    EXPECT_EQ(allowed, 4u) << f.a.out() << f.b.out();
    EXPECT_EQ(denied, 4u) << f.a.out() << f.b.out();
}

// (2) Draining one instance loses nothing. Two clients send a steady stream of requests
// through the balancer: one opens a new connection per request (as curl on the command line
// does), one keeps its connection alive (libcurl, which retries a request once on a fresh
// connection when a reused one closes before any byte of the answer: what browsers do too).
// Two slow requests are in flight, one on each ferry (round robin). Then SIGTERM to ferry a:
// its /healthz says 503 at once, HAProxy takes it out, its acceptors are closed (a connect
// is refused, and HAProxy redispatches it to b), its slow request finishes, and it exits 0.
TEST(Fleet, DrainingOneInstanceFailsNoRequest) {
    if (!haproxy_process::installed()) GTEST_SKIP() << "haproxy is not installed";
    fleet f;
    ASSERT_EQ(f.start(), "");

    // One slow exchange on each ferry: round robin sends consecutive connections to each
    // server in turn.
    std::vector<curl_response> slow(2);
    std::vector<std::thread> slow_clients;
    for (int i = 0; i < 2; ++i) {
        slow_clients.emplace_back([&f, &slow, i] {
            curl_client client;
            slow[std::size_t(i)] = f.get(client, "127.0.0.7", "/slow/1500");
        });
        const int want = i + 1;
        ASSERT_TRUE(eventually([&] { return f.origin.connections() >= want; }, 3s));
    }

    // The steady stream: bounded by count and time; stopped after ferry a is gone.
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::vector<std::string> failures;
    std::atomic<int> done{0}, done_after_exit{0};
    std::atomic<bool> a_exited{false};
    auto loop = [&](bool keep_alive) {
        std::optional<curl_client> client;
        const auto until = std::chrono::steady_clock::now() + 15s;
        for (int i = 0; i < 3000 && !stop && std::chrono::steady_clock::now() < until; ++i) {
            if (!keep_alive || !client) client.emplace();
            const auto r = f.get(*client, "127.0.0.7", "/size/2000");
            if (r.code != CURLE_OK || r.status != 200 || r.body_size != 2000) {
                std::lock_guard lock(mutex);
                failures.push_back(fmt::format(
                    "{}: {} {} ({} bytes) {}{}", keep_alive ? "keep-alive" : "new connection",
                    curl_easy_strerror(r.code), r.status, r.body_size, printable(r.headers),
                    printable(r.body.substr(0, 200))));
            }
            ++done;
            if (a_exited) ++done_after_exit;
            if (!keep_alive) client.reset();
            // A steady stream, not a flood: each request costs the machine's shared pool of
            // loopback ports a few TIME_WAIT entries.
            std::this_thread::sleep_for(5ms);
        }
    };
    std::thread fresh_client(loop, false), keep_alive_client(loop, true);
    ASSERT_TRUE(eventually([&] { return done >= 20; }, 5s));

    const int a_admin = admin_port(f.a);
    ASSERT_EQ(::kill(f.a.pid(), SIGTERM), 0);
    // The health check fails from the start of the drain (ferry says it has begun)...
    ASSERT_TRUE(f.a.wait_for_out("Shutting down proxy server"));
    const auto health = admin_get(a_admin, "GET /healthz HTTP/1.1");
    EXPECT_EQ(status_of(health), 503) << printable(health);
    EXPECT_EQ(body_of(health), "draining\n");
    // ...and the balancer takes the instance out.
    EXPECT_TRUE(
        eventually([&] { return server_status(f.stats, "ferry", "a").rfind("DOWN", 0) == 0; }, 3s))
        << server_status(f.stats, "ferry", "a") << "\n"
        << f.balancer->log();
    // Signal 0: wait for the exit without a second SIGTERM (which would cut the drain short).
    const int status = f.a.stop(0, 8s);
    a_exited = true;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << f.a.err();
    const bool b_served_on = eventually([&] { return done_after_exit >= 20; }, 5s);
    stop = true;
    fresh_client.join();
    keep_alive_client.join();
    for (auto& t : slow_clients)
        t.join();

    EXPECT_TRUE(b_served_on) << "after a's exit: " << done_after_exit;
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << done
                                  << " failed; the first: " << failures.front();
    for (const auto& r : slow) {
        EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "slow\n");
    }
    // a finished its in-flight exchange before exiting; b served the rest. Every line of
    // both names the client, never the balancer.
    const auto a_lines = access_lines(f.a), b_lines = access_lines(f.b);
    EXPECT_EQ(count_with(a_lines, "/slow/1500"), 1u) << "a's log:\n" << f.a.out().substr(0, 4000);
    EXPECT_GT(b_lines.size(), a_lines.size()) << "a " << a_lines.size() << ", b " << b_lines.size();
    EXPECT_EQ(count_with(a_lines, "127.0.0.7"), a_lines.size()) << a_lines.front();
    EXPECT_EQ(count_with(b_lines, "127.0.0.7"), b_lines.size()) << b_lines.front();
}

// /healthz on its own: 200 "ok" while serving, 503 "draining" from SIGTERM until the exit,
// while an exchange in flight still finishes.
TEST(Fleet, HealthzSaysDrainingFromTheStartOfTheDrain) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--shutdown-timeout", "5"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    auto ok = admin_get(admin, "GET /healthz HTTP/1.1");
    EXPECT_EQ(status_of(ok), 200) << printable(ok);
    EXPECT_EQ(body_of(ok), "ok\n");

    curl_response slow;
    std::thread client([&] {
        curl_client c;
        slow = c.perform({.url = origin.url("/slow/800"), .proxy = ferry.proxy_url()});
    });
    ASSERT_TRUE(eventually([&] { return origin.connections() >= 1; }, 3s));
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    ASSERT_TRUE(ferry.wait_for_out("Shutting down proxy server"));
    const auto draining = admin_get(admin, "GET /healthz HTTP/1.1");
    EXPECT_EQ(status_of(draining), 503) << printable(draining);
    EXPECT_EQ(body_of(draining), "draining\n");
    const auto head = admin_get(admin, "HEAD /healthz HTTP/1.1");
    EXPECT_EQ(status_of(head), 503) << printable(head);
    client.join();
    EXPECT_EQ(slow.status, 200);
    EXPECT_EQ(slow.body, "slow\n");
    const int status = ferry.stop(0, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
}
