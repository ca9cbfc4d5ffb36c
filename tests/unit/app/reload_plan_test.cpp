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
    next.user = "nobody";
    next.admin_listen = config::listen_address{"127.0.0.1", 9090};
    next.auth.realm = "corp";
    next.pool_per_host = 4; // this one does change
    auto plan = plan_reload(running, next);
    // In the order of the options registry, by their keys.
    EXPECT_EQ(plan.restart, (std::vector<std::string>{"workers", "admin_listen", "user",
                                                      "dns_server", "auth.realm"}));
    EXPECT_EQ(plan.next.workers, 2u);
    EXPECT_TRUE(plan.next.dns_servers.empty());
    EXPECT_EQ(plan.next.user, "");
    EXPECT_EQ(plan.next.auth.realm, "ferry");
    EXPECT_FALSE(plan.next.admin_listen.has_value());
    EXPECT_EQ(plan.next.pool_per_host, 4u);
}

// The log destinations and the shutdown timeout were once kept silently at their start-up
// values; a reload applies them now (the server opens the new log files).
TEST(ReloadPlan, LogDestinationsAndTheShutdownTimeoutChange) {
    config::settings running;
    config::settings next = running;
    next.access_log = "/var/log/ferry/access.log";
    next.flow = true;
    next.flow_log = "/var/log/ferry/flow.log";
    next.shutdown_timeout = std::chrono::seconds(1);
    auto plan = plan_reload(running, next);
    EXPECT_TRUE(plan.restart.empty());
    EXPECT_EQ(plan.next.access_log, "/var/log/ferry/access.log");
    EXPECT_TRUE(plan.next.flow);
    EXPECT_EQ(plan.next.flow_log, "/var/log/ferry/flow.log");
    EXPECT_EQ(plan.next.shutdown_timeout, std::chrono::seconds(1));
}

// Authentication turned on or off needs a restart; a new htpasswd path is read on reload.
TEST(ReloadPlan, OnlyTurningAuthenticationOnOrOffNeedsARestart) {
    config::settings running;
    running.auth.htpasswd = "/etc/ferry/htpasswd";
    config::settings moved = running;
    moved.auth.htpasswd = "/etc/ferry/users";
    EXPECT_TRUE(plan_reload(running, moved).restart.empty());
    EXPECT_EQ(plan_reload(running, moved).next.auth.htpasswd, "/etc/ferry/users");
    config::settings off = running;
    off.auth.htpasswd.clear();
    auto plan = plan_reload(running, off);
    EXPECT_EQ(plan.restart, std::vector<std::string>{"auth.htpasswd"});
    EXPECT_EQ(plan.next.auth.htpasswd, "/etc/ferry/htpasswd");
}

} // namespace
} // namespace ferry::app
