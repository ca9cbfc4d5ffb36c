// --user: ferry binds as root, then serves as an unprivileged user. After the switch,
// SIGHUP re-reads the configuration and the htpasswd file and SIGUSR1 reopens the logs with
// that user's rights: what it cannot reach is warned about at start and named (file and
// user) when it fails, and the running configuration and log stay in force.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <pwd.h>
#include <sys/stat.h>
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

// A directory in /tmp that the test user can enter, removed at the end.
class scratch_dir {
public:
    scratch_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-priv-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
        ::chmod(path_.c_str(), 0755);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Writes `text` to a new file renamed over `path` (ferry never reads half a file), root's,
// with `mode`.
void put_file(const std::string& path, const std::string& text, mode_t mode) {
    const auto fresh = path + ".new";
    std::ofstream(fresh) << text;
    ::chmod(fresh.c_str(), mode);
    std::filesystem::rename(fresh, path);
}

// "user:$apr1$…" made by openssl at test time.
std::string htpasswd_line(const std::string& user, const std::string& password) {
    return user + ":" + shell_output("openssl passwd -apr1 '" + password + "'") + "\n";
}

// A configuration run by root that switches to nobody, with proxy authentication; `deny`
// adds a rule refusing *.blocked.localhost.
std::string config_text(const std::string& htpasswd, const std::string& access_log, bool deny) {
    auto text = fmt::format("listen = [\"127.0.0.1:0\"]\nuser = \"nobody\"\n"
                            "access_log = \"{}\"\n[auth]\nhtpasswd = \"{}\"\n",
                            access_log, htpasswd);
    if (deny)
        text += "[[acl]]\naction = \"deny\"\nname = \"blocked\"\ndest = [\".blocked.localhost\"]\n";
    return text + "[[acl]]\naction = \"allow\"\nclient = [\"127.0.0.0/8\"]\nusers = [\"*\"]\n";
}

// Sends `signal` and waits until ferry's stderr says `expected` once more than before.
bool signal_and_wait(ferry_process& ferry, int signal, const std::string& expected) {
    const int before = count_in(ferry.err(), expected);
    if (::kill(ferry.pid(), signal) != 0) return false;
    return eventually([&] { return count_in(ferry.err(), expected) > before; });
}

long status_as(const ferry_process& ferry, const std::string& url, const std::string& user) {
    curl_client client;
    return client.perform({.url = url, .proxy = ferry.proxy_url(), .proxy_user = user}).status;
}

// Why these tests cannot run here, or "".
std::string cannot_switch_users() {
    if (::geteuid() != 0) return "needs root to switch users (CI runs as root)";
    if (::getpwnam("nobody") == nullptr) return "no user nobody on this machine";
    if (shell_output("command -v openssl").empty()) return "openssl is not installed";
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

TEST(Privileges, AfterDroppingRootSighupRereadsTheConfigAndTheHtpasswdFile) {
    if (auto why = cannot_switch_users(); !why.empty()) GTEST_SKIP() << why;
    test_origin origin;
    scratch_dir dir;
    const auto htpasswd = dir / "htpasswd", config = dir / "ferry.toml";
    put_file(htpasswd, htpasswd_line("alice", "alice-pass"), 0644);
    put_file(config, config_text(htpasswd, "off", false), 0644);
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.err().find("warning"), std::string::npos) << ferry.err();
    const auto blocked = fmt::format("http://x.blocked.localhost:{}/size/1", origin.port());
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "alice:alice-pass"), 200);
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "bob:bob-pass"), 407);
    EXPECT_EQ(status_as(ferry, blocked, "alice:alice-pass"), 200);

    put_file(htpasswd, htpasswd_line("alice", "alice-pass") + htpasswd_line("bob", "bob-pass"),
             0644);
    put_file(config, config_text(htpasswd, "off", true), 0644);
    ASSERT_TRUE(signal_and_wait(ferry, SIGHUP, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "bob:bob-pass"), 200) << ferry.err();
    EXPECT_EQ(status_as(ferry, blocked, "alice:alice-pass"), 403) << "the new rules apply";
}

TEST(Privileges, AReloadThatCannotReadAFileNamesItAndTheUserAndKeepsTheRunningConfiguration) {
    if (auto why = cannot_switch_users(); !why.empty()) GTEST_SKIP() << why;
    test_origin origin;
    scratch_dir dir;
    const auto htpasswd = dir / "htpasswd", config = dir / "ferry.toml";
    put_file(htpasswd, htpasswd_line("alice", "alice-pass"), 0644);
    put_file(config, config_text(htpasswd, "off", false), 0644);
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // root's 0600 htpasswd, as the issue found it: nobody cannot read it.
    put_file(htpasswd, htpasswd_line("bob", "bob-pass"), 0600);
    ASSERT_TRUE(signal_and_wait(ferry, SIGHUP,
                                "ferry: reload failed: " + htpasswd +
                                    ": permission denied for user nobody; keeping the running "
                                    "configuration\n"))
        << ferry.err();
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "alice:alice-pass"), 200);
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "bob:bob-pass"), 407);

    // The configuration file itself, likewise.
    put_file(htpasswd, htpasswd_line("bob", "bob-pass"), 0644);
    put_file(config, config_text(htpasswd, "off", true), 0600);
    ASSERT_TRUE(signal_and_wait(ferry, SIGHUP,
                                "ferry: reload failed: " + config +
                                    ": permission denied for user nobody; keeping the running "
                                    "configuration\n"))
        << ferry.err();
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "alice:alice-pass"), 200);
    EXPECT_TRUE(ferry.running());

    // Readable again: the reload goes through.
    ::chmod(config.c_str(), 0644);
    ASSERT_TRUE(signal_and_wait(ferry, SIGHUP, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "bob:bob-pass"), 200);
}

TEST(Privileges, AfterDroppingRootSigusr1ReopensTheLogInTheLogDirectory) {
    if (auto why = cannot_switch_users(); !why.empty()) GTEST_SKIP() << why;
    const passwd* nobody = ::getpwnam("nobody");
    const uid_t nobody_uid = nobody->pw_uid;
    test_origin origin;
    scratch_dir dir;
    // The log directory belongs to the service user (as /var/log/ferry to ferry).
    const auto logs = dir / "log", access = logs + "/access.log";
    ASSERT_EQ(::mkdir(logs.c_str(), 0750), 0);
    ASSERT_EQ(::chown(logs.c_str(), nobody_uid, nobody->pw_gid), 0);
    const auto htpasswd = dir / "htpasswd", config = dir / "ferry.toml";
    put_file(htpasswd, htpasswd_line("alice", "alice-pass"), 0644);
    put_file(config, config_text(htpasswd, access, false), 0644);
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.err().find("warning"), std::string::npos) << ferry.err();
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "alice:alice-pass"), 200);
    ASSERT_FALSE(wait_for_line_in_file(access, {"/size/1 "}).empty()) << read_file(access);

    // What logrotate does without `create`: move the file away, then SIGUSR1.
    ASSERT_EQ(std::rename(access.c_str(), (access + ".1").c_str()), 0);
    ASSERT_EQ(::kill(ferry.pid(), SIGUSR1), 0);
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(access); }))
        << "no new log on SIGUSR1: " << ferry.err();
    struct stat made {};
    ASSERT_EQ(::stat(access.c_str(), &made), 0);
    EXPECT_EQ(made.st_uid, nobody_uid) << "created by ferry as nobody";
    EXPECT_EQ(status_as(ferry, origin.url("/size/2"), "alice:alice-pass"), 200);
    EXPECT_FALSE(wait_for_line_in_file(access, {"/size/2 "}).empty()) << read_file(access);
    EXPECT_EQ(read_file(access + ".1").find("/size/2"), std::string::npos);
    EXPECT_EQ(ferry.err().find("cannot reopen"), std::string::npos) << ferry.err();
}

TEST(Privileges, WarnsAtStartWhatTheUserCannotReachAndNamesItAgainWhenItFails) {
    if (auto why = cannot_switch_users(); !why.empty()) GTEST_SKIP() << why;
    test_origin origin;
    scratch_dir dir;
    // The set-up: root's log directory and root's 0600 htpasswd.
    const auto logs = dir / "log", access = logs + "/access.log";
    ASSERT_EQ(::mkdir(logs.c_str(), 0755), 0);
    const auto htpasswd = dir / "htpasswd", config = dir / "ferry.toml";
    put_file(htpasswd, htpasswd_line("alice", "alice-pass"), 0600);
    put_file(config, config_text(htpasswd, access, false), 0644);
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto err = ferry.err();
    EXPECT_NE(err.find("ferry: warning: user nobody cannot read " + htpasswd +
                       ": SIGHUP (reload) will fail\n"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("ferry: warning: user nobody cannot create files in " + logs +
                       ": SIGUSR1 (log rotation) will not reopen " + access + "\n"),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("cannot read " + config), std::string::npos) << err;
    EXPECT_EQ(status_as(ferry, origin.url("/size/1"), "alice:alice-pass"), 200);

    ASSERT_EQ(std::rename(access.c_str(), (access + ".1").c_str()), 0);
    ASSERT_TRUE(signal_and_wait(ferry, SIGUSR1,
                                "ferry: cannot reopen " + access +
                                    " (still writing to the old file): permission denied for "
                                    "user nobody\n"))
        << ferry.err();
    EXPECT_TRUE(ferry.running());
    EXPECT_EQ(status_as(ferry, origin.url("/size/2"), "alice:alice-pass"), 200);
    EXPECT_FALSE(wait_for_line_in_file(access + ".1", {"/size/2 "}).empty())
        << "still writing to the old file";
}
