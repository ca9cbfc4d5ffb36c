// observe::host_table: per-origin rows, merged across workers, bounded.
#include "observe/host_table.h"

#include <gtest/gtest.h>

namespace ferry::observe {
namespace {

exchange_record exchange(std::string method, std::string target, int status, bool fresh) {
    exchange_record r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.status = status;
    r.bytes_from_client = 10;
    r.bytes_to_client = 100;
    r.upstream = "x:1";
    r.upstream_new = fresh;
    return r;
}

TEST(HostTable, NamesTheOriginOfEachForm) {
    std::string host;
    ASSERT_TRUE(exchange_host(exchange("GET", "http://Example.TEST/a", 200, true), host));
    EXPECT_EQ(host, "example.test:80");
    ASSERT_TRUE(exchange_host(exchange("CONNECT", "example.test:443", 200, true), host));
    EXPECT_EQ(host, "example.test:443");
    ASSERT_TRUE(exchange_host(exchange("GET", "http://[::1]:8080/", 200, true), host));
    EXPECT_EQ(host, "[::1]:8080");
    EXPECT_FALSE(exchange_host(exchange("GET", "/origin-form", 400, true), host));
}

TEST(HostTable, MergesTwoShardsAndRanks) {
    host_table a, b;
    a.record(exchange("GET", "http://one.test/", 200, true));
    a.record(exchange("GET", "http://one.test/x", 502, false));
    b.record(exchange("GET", "http://one.test/y", 200, false));
    b.record(exchange("GET", "http://two.test/", 0, true));
    const std::vector<const host_table*> both{&a, &b};
    auto rows = top_hosts(both, 20);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].host, "one.test:80");
    EXPECT_EQ(rows[0].figures.requests, 3u);
    EXPECT_EQ(rows[0].figures.bytes_from_clients, 30u);
    EXPECT_EQ(rows[0].figures.bytes_to_clients, 300u);
    EXPECT_EQ(rows[0].figures.errors, 1u);
    EXPECT_EQ(rows[0].figures.new_connections, 1u);
    EXPECT_EQ(rows[0].figures.reused_connections, 2u);
    EXPECT_EQ(rows[1].host, "two.test:80");
    EXPECT_EQ(rows[1].figures.errors, 1u) << "no answer is an error";
    EXPECT_EQ(top_hosts(both, 1).size(), 1u);
}

TEST(HostTable, BoundedWithAnOtherRow) {
    host_table t(3);
    for (int i = 0; i < 10; ++i)
        t.record(exchange("GET", "http://h" + std::to_string(i) + ".test/", 200, true));
    const std::vector<const host_table*> one{&t};
    auto rows = top_hosts(one, 100);
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].host, other_hosts);
    EXPECT_EQ(rows[0].figures.requests, 7u);
}

} // namespace
} // namespace ferry::observe
