// metrics: what a shard counts for one exchange, and the text format the page renders.
#include "observe/metrics.h"

#include "observe/counter.h"

#include <gtest/gtest.h>

namespace ferry::observe {
namespace {

exchange_record exchange(std::string method, int status, std::uint64_t in, std::uint64_t out) {
    exchange_record r;
    r.method = std::move(method);
    r.status = status;
    r.bytes_from_client = in;
    r.bytes_to_client = out;
    return r;
}

TEST(Metrics, ExchangesAreCountedByMethodAndStatusClass) {
    metrics_shard a, b;
    a.record(exchange("GET", 200, 100, 1000), std::chrono::microseconds(800));
    a.record(exchange("GET", 204, 100, 50), std::chrono::milliseconds(30));
    b.record(exchange("GET", 502, 90, 120), std::chrono::seconds(2));
    b.record(exchange("BREW", 418, 10, 20), std::chrono::microseconds(100));
    b.record(exchange("POST", 0, 10, 0), std::chrono::microseconds(100)); // no answer
    const auto page = render_metrics({&a, &b}, {});
    EXPECT_NE(page.find("ferry_requests_total{method=\"GET\",code=\"2xx\"} 2\n"), std::string::npos)
        << page;
    EXPECT_NE(page.find("ferry_requests_total{method=\"GET\",code=\"5xx\"} 1\n"),
              std::string::npos);
    EXPECT_NE(page.find("ferry_requests_total{method=\"other\",code=\"4xx\"} 1\n"),
              std::string::npos);
    EXPECT_NE(page.find("ferry_requests_total{method=\"POST\",code=\"000\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(page.find("code=\"3xx\""), std::string::npos) << "zero series are left out";
    EXPECT_NE(page.find("ferry_client_received_bytes_total 310\n"), std::string::npos);
    EXPECT_NE(page.find("ferry_client_sent_bytes_total 1190\n"), std::string::npos);
}

TEST(Metrics, DurationHistogramIsCumulative) {
    metrics_shard s;
    s.record(exchange("GET", 200, 0, 0), std::chrono::microseconds(400)); // ≤ 0.0005
    s.record(exchange("GET", 200, 0, 0), std::chrono::milliseconds(20));  // ≤ 0.025
    s.record(exchange("GET", 200, 0, 0), std::chrono::seconds(10));       // +Inf only
    const auto page = render_metrics({&s}, {});
    EXPECT_NE(page.find("ferry_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"),
              std::string::npos)
        << page;
    EXPECT_NE(page.find("ferry_request_duration_seconds_bucket{le=\"0.01\"} 1\n"),
              std::string::npos);
    EXPECT_NE(page.find("ferry_request_duration_seconds_bucket{le=\"0.025\"} 2\n"),
              std::string::npos);
    EXPECT_NE(page.find("ferry_request_duration_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
    EXPECT_NE(page.find("ferry_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
              std::string::npos);
    EXPECT_NE(page.find("ferry_request_duration_seconds_count 3\n"), std::string::npos);
    EXPECT_NE(page.find("ferry_request_duration_seconds_sum 10.020400\n"), std::string::npos);
}

TEST(Metrics, GaugesAndUpstreamFigures) {
    metrics_shard s;
    bump(s.client_connections);
    bump(s.client_connections);
    decrement(s.client_connections);
    upstream_figures up;
    up.pool_reused = 7;
    up.dns_cache_hits = 3;
    const auto page = render_metrics({&s}, up);
    EXPECT_NE(page.find("# TYPE ferry_client_connections gauge\nferry_client_connections 1\n"),
              std::string::npos)
        << page;
    EXPECT_NE(page.find("ferry_upstream_pool_reused_total 7\n"), std::string::npos);
    EXPECT_NE(page.find("ferry_dns_cache_hits_total 3\n"), std::string::npos);
}

} // namespace
} // namespace ferry::observe
