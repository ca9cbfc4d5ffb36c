// The admin listener (--admin-listen): /healthz, and /metrics in Prometheus text format
// counting what went through ferry — checked against traffic the test sends.
#include "support/admin_client.h"
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <regex>

using namespace ferry_test;
using namespace std::chrono_literals;

TEST(Admin, HealthzAndUnknownPathsAndMethods) {
    ferry_process ferry({"--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();
    auto r = admin_get(port, "GET /healthz HTTP/1.1");
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), "ok\n");
    EXPECT_EQ(status_of(admin_get(port, "GET /nothing HTTP/1.1")), 404);
    EXPECT_EQ(status_of(admin_get(port, "POST /metrics HTTP/1.1")), 405);
    EXPECT_EQ(status_of(admin_get(port, "garbage")), 400);
    // The admin port is not a proxy, and the proxy port does not serve /metrics.
    EXPECT_EQ(status_of(admin_get(port, "GET http://127.0.0.1:1/ HTTP/1.1")), 404);
}

TEST(Admin, OffByDefault) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(admin_port(ferry), 0) << ferry.out();
}

TEST(Admin, BadAddressIsAnError) {
    auto r = run_ferry({"--admin-listen", "nonsense"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("--admin-listen nonsense"), std::string::npos) << r.err;
}

TEST(Admin, MetricsCountWhatWentThrough) {
    test_origin origin;
    ferry_process ferry(
        {"--admin-listen", "127.0.0.1:0", "--workers", "1", "--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int port = admin_port(ferry);
    ASSERT_GT(port, 0) << ferry.out();

    {
        curl_client client; // closed at the end of the block, so the exchanges end
        for (int i = 0; i < 5; ++i) {
            auto r = client.perform({.url = origin.url("/size/1000"), .proxy = ferry.proxy_url()});
            ASSERT_EQ(r.status, 200);
        }
        auto missing =
            client.perform({.url = origin.url("/status/404"), .proxy = ferry.proxy_url()});
        EXPECT_EQ(missing.status, 404);
        auto posted = client.perform({.url = origin.url("/echo"),
                                      .proxy = ferry.proxy_url(),
                                      .method = "POST",
                                      .body = "hello"});
        EXPECT_EQ(posted.status, 200);
        auto failed =
            client.perform({.url = "http://unreachable.invalid/", .proxy = ferry.proxy_url()});
        EXPECT_EQ(failed.status, 502);
        auto tunnelled = client.perform(
            {.url = origin.url("/size/10"), .proxy = ferry.proxy_url(), .tunnel = true});
        EXPECT_EQ(tunnelled.status, 200);
    }

    // The exchanges are counted when they end; the tunnel when its client closes. The page is
    // read from the worker's counters while it runs, family by family, so one page can be
    // read half before and half after the tunnel's exchange is counted: wait for a page that
    // has it everywhere.
    std::string page;
    for (int i = 0; i < 50; ++i) {
        page = body_of(admin_get(port, "GET /metrics HTTP/1.1"));
        if (metric(page, "ferry_tunnels_total") == 1 && metric(page, "ferry_tunnels") == 0 &&
            metric(page, "ferry_client_connections") == 0 &&
            metric(page, R"(ferry_requests_total{method="CONNECT",code="2xx"})") == 1 &&
            metric(page, "ferry_request_duration_seconds_count") == 9)
            break;
        std::this_thread::sleep_for(50ms);
    }
    SCOPED_TRACE(page);
    EXPECT_EQ(metric(page, R"(ferry_requests_total{method="GET",code="2xx"})"), 5);
    EXPECT_EQ(metric(page, R"(ferry_requests_total{method="GET",code="4xx"})"), 1);
    EXPECT_EQ(metric(page, R"(ferry_requests_total{method="GET",code="5xx"})"), 1);
    EXPECT_EQ(metric(page, R"(ferry_requests_total{method="POST",code="2xx"})"), 1);
    EXPECT_EQ(metric(page, R"(ferry_requests_total{method="CONNECT",code="2xx"})"), 1);
    EXPECT_EQ(metric(page, "ferry_tunnels_total"), 1);
    EXPECT_EQ(metric(page, "ferry_tunnels"), 0);
    EXPECT_EQ(metric(page, "ferry_client_connections"), 0);
    EXPECT_GE(metric(page, "ferry_client_connections_total"), 2);
    EXPECT_GE(metric(page, "ferry_upstream_pool_reused_total"), 4) << "GETs share a connection";
    // What is left open upstream is what idles in the pool.
    EXPECT_GE(metric(page, "ferry_upstream_connections"), 1);
    EXPECT_EQ(metric(page, "ferry_upstream_connections"),
              metric(page, "ferry_upstream_pool_idle_connections"));
    EXPECT_GE(metric(page, "ferry_client_sent_bytes_total"), 5 * 1000 + 10);
    EXPECT_GE(metric(page, "ferry_client_received_bytes_total"), 5);
    EXPECT_EQ(metric(page, "ferry_request_duration_seconds_count"), 9);
    EXPECT_EQ(metric(page, R"(ferry_request_duration_seconds_bucket{le="+Inf"})"), 9);
    EXPECT_GT(metric(page, "ferry_request_duration_seconds_sum"), 0);

    // Every line is a comment or a sample of the text format.
    static const std::regex sample_line(
        R"((# (HELP|TYPE) [a-z_][a-z0-9_]* .+)|([a-z_][a-z0-9_]*(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+))");
    std::size_t start = 0;
    while (start < page.size()) {
        auto end = page.find('\n', start);
        ASSERT_NE(end, std::string::npos) << "the page ends with a newline";
        const auto line = page.substr(start, end - start);
        EXPECT_TRUE(std::regex_match(line, sample_line)) << line;
        start = end + 1;
    }
}
