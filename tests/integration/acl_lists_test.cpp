// [[acl]] conditions from list files (issue 18, part 2), through the real binary: a generated
// 1,000,000-line block list loads and decides (a listed name, a listed domain's subdomain and
// a listed address are denied, an unlisted name allowed); a changed file is read again on
// SIGHUP; a bad line stops ferry at start (exit 2, naming file and line) and fails a reload,
// which keeps the running lists. Destinations under `.localhost` are answered by ferry as
// loopback, so they reach the test origin on 127.0.0.1 without DNS.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// A fresh directory for the configuration and its lists, removed at the end of the test.
class list_dir {
public:
    list_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-lists-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
    }
    ~list_dir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    list_dir(const list_dir&) = delete;
    list_dir& operator=(const list_dir&) = delete;

    // Written to a new file and renamed: ferry never reads half a file.
    std::string write(const std::string& name, const std::string& text) const {
        const auto path = dir_ + "/" + name;
        std::ofstream(path + ".new") << text;
        std::filesystem::rename(path + ".new", path);
        return path;
    }
    const std::string& path() const { return dir_; }

private:
    std::string dir_;
};

// A block list of 1,000,000 lines: names, ".domain"s, IPv4 and IPv6 networks, comments.
std::string million_lines() {
    std::string text = "# generated block list: 1,000,000 lines\n";
    text.reserve(32'000'000);
    for (int i = 1; i < 1'000'000; ++i) {
        if (i % 10 == 0)
            text += fmt::format("10.{}.{}.0/24\n", (i >> 16) & 255, (i >> 8) & 255);
        else if (i % 10 == 1)
            text += fmt::format("2001:db8:{:x}::/48\n", i & 0xffff);
        else if (i % 10 == 2)
            text += fmt::format(".zone{}.tracker.localhost\n", i);
        else if (i % 1000 == 3)
            text += "   # a comment among the entries\n";
        else
            text += fmt::format("ad{}.BLOCKED.localhost   # entry {}\n", i, i);
    }
    return text;
}

std::string config_with_list(const std::string& list) {
    return fmt::format("listen = [\"127.0.0.1:0\"]\naccess_log = \"off\"\n"
                       "[[acl]]\naction = \"deny\"\nname = \"blocklist\"\ndest_file = \"{}\"\n"
                       "[[acl]]\naction = \"allow\"\nclient = [\"127.0.0.0/8\"]\n",
                       list);
}

curl_response fetch(const ferry_process& ferry, const std::string& url) {
    curl_client client;
    return client.perform({.url = url, .proxy = ferry.proxy_url()});
}

// Sends SIGHUP and waits (loading a large list under the sanitizers takes a while) until
// ferry has said `expected` once more than before.
bool reload(ferry_process& ferry, const std::string& expected) {
    const int before = count_in(ferry.err(), expected);
    if (::kill(ferry.pid(), SIGHUP) != 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (count_in(ferry.err(), expected) > before) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

const std::string denied_body = "ferry: denied by access rule 1 (\"blocklist\")\n";

TEST(AclListFiles, AMillionLineListLoadsAndDecides) {
    test_origin origin;
    list_dir dir;
    dir.write("block.txt", million_lines());
    const auto config = dir.write("ferry.toml", config_with_list("block.txt"));
    // The same load as at start, without the start-up wait: --check-config reads the lists.
    const auto check = run_ferry({"--check-config", config}, 120s);
    ASSERT_EQ(check.exit_code(), 0) << check.err;
    EXPECT_EQ(check.out, "ferry: " + config + ": OK\n");

    // ferry starts on a small list, and takes the million on reload: the start-up wait of
    // the test's ferry_process is 10 s, too short for a sanitizer build on a busy machine.
    const auto small = dir.write("small.txt", "nothing.localhost\n");
    dir.write("ferry.toml", config_with_list(small));
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    dir.write("ferry.toml", config_with_list("block.txt"));
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();

    const auto port = origin.port();
    for (const auto* host : {"ad4.blocked.localhost", "ad999999.blocked.localhost",
                             "zone502.tracker.localhost", "a.b.zone999992.tracker.localhost"}) {
        auto r = fetch(ferry, fmt::format("http://{}:{}/size/10", host, port));
        EXPECT_EQ(r.status, 403) << host;
        EXPECT_EQ(r.body, denied_body) << host;
    }
    // A listed network: an IP literal in 10.0.1.0/24 (nothing is sent: denied before).
    EXPECT_EQ(fetch(ferry, "http://10.0.1.9:80/").status, 403);
    // Unlisted: past the end, a comment line's number, a number that was not a zone, others.
    for (const auto* host : {"ad1000000.blocked.localhost", "ad3.blocked.localhost",
                             "zone503.tracker.localhost", "tracker.localhost", "fine.localhost"}) {
        auto r = fetch(ferry, fmt::format("http://{}:{}/size/10", host, port));
        EXPECT_EQ(r.status, 200) << host << ": " << r.body;
    }
}

TEST(AclListFiles, AChangedFileIsReadAgainOnReload) {
    test_origin origin;
    list_dir dir;
    const auto list = dir.write("block.txt", "one.localhost\n");
    const auto config = dir.write("ferry.toml", config_with_list("block.txt"));
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto one = fmt::format("http://one.localhost:{}/size/10", origin.port());
    const auto two = fmt::format("http://two.localhost:{}/size/10", origin.port());
    EXPECT_EQ(fetch(ferry, one).status, 403);
    EXPECT_EQ(fetch(ferry, two).status, 200);
    // What the lists hold is said at start and after each reload.
    const std::string said = "ferry: access rule 1 (\"blocklist\"): dest_file: 1 names, 0 "
                             "networks from 1 file (";
    EXPECT_TRUE(eventually([&] { return count_in(ferry.err(), said) == 1; })) << ferry.err();

    dir.write("block.txt", "# one is fine now\ntwo.localhost\n.three.localhost\n10.0.0.0/8\n");
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_TRUE(eventually([&] {
        return count_in(ferry.err(), "ferry: access rule 1 (\"blocklist\"): dest_file: 2 names, "
                                     "1 networks from 1 file (") == 1;
    })) << ferry.err();
    EXPECT_EQ(fetch(ferry, one).status, 200);
    auto r = fetch(ferry, two);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, denied_body);
}

TEST(AclListFiles, ABadLineAtStartStopsFerryNamingFileAndLine) {
    list_dir dir;
    const auto list = dir.write("block.txt", "ok.localhost\n# fine\nhttps://bad.example/\n");
    const auto config = dir.write("ferry.toml", config_with_list("block.txt"));
    const auto expected =
        "ferry: " + list + ":3: expected a host, .domain, IP or CIDR: \"https://bad.example/\"\n";
    auto r = run_ferry({"--config", config});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, expected);
    auto check = run_ferry({"--check-config", config});
    EXPECT_EQ(check.exit_code(), 2) << check.err;
    EXPECT_EQ(check.err, expected);

    std::filesystem::remove(list);
    auto missing = run_ferry({"--config", config});
    EXPECT_EQ(missing.exit_code(), 2) << missing.err;
    EXPECT_EQ(missing.err,
              "ferry: " + config + ":6: acl.dest_file: " + list + ": No such file or directory\n");
}

TEST(AclListFiles, ExplainJudgesByTheFilesAndNamesThem) {
    list_dir dir;
    const auto list = dir.write("block.txt", ".ads.localhost\n10.0.0.0/8\n");
    const auto config = dir.write("ferry.toml", config_with_list("block.txt"));
    auto denied = run_ferry({"explain", "--config", config, "http://x.ads.localhost/"});
    EXPECT_EQ(denied.exit_code(), 1) << denied.out << denied.err;
    EXPECT_NE(denied.out.find("Access: denied by rule 1 (\"blocklist\", line 3)"),
              std::string::npos)
        << denied.out;
    auto literal = run_ferry({"explain", "--config", config, "http://10.9.8.7/"});
    EXPECT_EQ(literal.exit_code(), 1) << literal.out << literal.err;
    auto allowed = run_ferry({"explain", "--config", config, "http://fine.localhost/"});
    EXPECT_EQ(allowed.exit_code(), 0) << allowed.out << allowed.err;
    EXPECT_NE(allowed.out.find("no match: destination fine.localhost meets none of the entries "
                               "of " +
                               list),
              std::string::npos)
        << allowed.out;
}

TEST(AclListFiles, ABadLineOnReloadKeepsTheRunningLists) {
    test_origin origin;
    list_dir dir;
    const auto list = dir.write("block.txt", "one.localhost\n");
    const auto config = dir.write("ferry.toml", config_with_list("block.txt"));
    ferry_process ferry({"--config", config}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    dir.write("block.txt", "two.localhost\n10.0.0.0/40\n");
    ASSERT_TRUE(reload(ferry, "ferry: reload failed: keeping the running configuration"))
        << ferry.err();
    EXPECT_NE(ferry.err().find(list + ":2: expected a prefix length 0-32 after the \"/\": "
                                      "\"10.0.0.0/40\""),
              std::string::npos)
        << ferry.err();
    EXPECT_TRUE(ferry.running());
    EXPECT_EQ(fetch(ferry, fmt::format("http://one.localhost:{}/", origin.port())).status, 403);
    EXPECT_EQ(fetch(ferry, fmt::format("http://two.localhost:{}/size/1", origin.port())).status,
              200);
}

} // namespace
