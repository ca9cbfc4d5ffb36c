// admin_route: what the admin listener answers to a request head.
#include "app/admin.h"

#include <gtest/gtest.h>

namespace ferry::app {
namespace {

const admin_server::page page = [] { return std::string("# metrics\n"); };

TEST(AdminRoute, MetricsAndHealthz) {
    auto m = admin_route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page);
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(m.body, "# metrics\n");
    auto h = admin_route("GET /healthz?probe=1 HTTP/1.0\r\n\r\n", page);
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, "ok\n");
}

TEST(AdminRoute, EverythingElse) {
    EXPECT_EQ(admin_route("GET / HTTP/1.1\r\n\r\n", page).status, 404);
    EXPECT_EQ(admin_route("GET http://x/metrics HTTP/1.1\r\n\r\n", page).status, 404);
    EXPECT_EQ(admin_route("DELETE /metrics HTTP/1.1\r\n\r\n", page).status, 405);
    EXPECT_EQ(admin_route("HEAD /healthz HTTP/1.1\r\n\r\n", page).status, 405);
    EXPECT_EQ(admin_route("GET /metrics\r\n\r\n", page).status, 400);
    EXPECT_EQ(admin_route("nonsense\r\n\r\n", page).status, 400);
    EXPECT_EQ(admin_route("", page).status, 400);
}

} // namespace
} // namespace ferry::app
