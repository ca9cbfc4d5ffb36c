// plan_reload: what a SIGHUP may change, and what keeps its running value until a restart.
#include "app/reload.h"

#include <gtest/gtest.h>

namespace ferry::app {
namespace {

TEST(ReloadPlan, PolicyTimeoutsAndListenersChange) {
    config::settings running;
    config::settings next;
    next.listen = {{"127.0.0.1", 3128}, {"::1", 3128}};
    next.idle_timeout = std::chrono::seconds(5);
    next.pseudonym = "corp";
    next.acl.emplace_back();
    next.connect_ports = {443, 8443};
    auto plan = plan_reload(running, next);
    EXPECT_TRUE(plan.restart.empty());
    EXPECT_EQ(plan.next.listen.size(), 2u);
    EXPECT_EQ(plan.next.idle_timeout, std::chrono::seconds(5));
    EXPECT_EQ(plan.next.pseudonym, "corp");
    EXPECT_EQ(plan.next.acl.size(), 1u);
    EXPECT_EQ(plan.next.connect_ports, (std::vector<std::uint16_t>{443, 8443}));
}

TEST(ReloadPlan, WhatNeedsARestartKeepsItsRunningValueAndIsNamed) {
    config::settings running;
    running.workers = 2;
    config::settings next = running;
    next.workers = 4;
    next.dns_servers = {{"127.0.0.1", 5353}};
    next.access_log = "/var/log/ferry/access.log";
    next.user = "nobody";
    next.admin_listen = config::listen_address{"127.0.0.1", 9090};
    next.pool_per_host = 4; // this one does change
    auto plan = plan_reload(running, next);
    EXPECT_EQ(plan.restart, (std::vector<std::string>{"workers", "dns_server", "access_log",
                                                      "admin_listen", "user"}));
    EXPECT_EQ(plan.next.workers, 2u);
    EXPECT_TRUE(plan.next.dns_servers.empty());
    EXPECT_EQ(plan.next.access_log, "-");
    EXPECT_EQ(plan.next.user, "");
    EXPECT_FALSE(plan.next.admin_listen.has_value());
    EXPECT_EQ(plan.next.pool_per_host, 4u);
}

} // namespace
} // namespace ferry::app
