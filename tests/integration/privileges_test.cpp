// --user: ferry binds as root, then serves as an unprivileged user.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fstream>
#include <pwd.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// The "Uid:" line of /proc/PID/status: real, effective, saved and filesystem uids.
std::string uid_line(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("Uid:")) return line;
    return {};
}

} // namespace

TEST(Privileges, UserDropsRootAfterBindingAndStillServes) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch users (CI runs as root)";
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user nobody on this machine";
    test_origin origin;
    ferry_process ferry({"--user", "nobody"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto u = std::to_string(nobody->pw_uid);
    EXPECT_EQ(uid_line(ferry.pid()), fmt::format("Uid:\t{}\t{}\t{}\t{}", u, u, u, u));
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(
        fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url("/"), origin.authority())));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
}

TEST(Privileges, UnknownUserIsAnErrorBeforeServing) {
    auto r = run_ferry({"0", "--user", "no-such-user-ferry"});
    EXPECT_EQ(r.exit_code(), 1) << r.err;
    EXPECT_NE(r.err.find("ferry: --user: no such user \"no-such-user-ferry\""), std::string::npos)
        << r.err;
    EXPECT_EQ(r.out.find("Starting proxy server"), std::string::npos) << r.out;
}
