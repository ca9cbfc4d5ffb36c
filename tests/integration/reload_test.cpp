// Reload (SIGHUP): the configuration file is read again and applied without dropping a
// request; an invalid one changes nothing; listeners come and go as configured; an exchange
// in flight finishes under the rules it started with; the flow log moves to a new file and
// the shutdown timeout changes; what only a restart changes is named.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

class config_file {
public:
    config_file() {
        std::string pattern = ::testing::TempDir() + "ferry-reload-XXXXXX";
        if (::mkdtemp(pattern.data())) dir_ = pattern;
        path_ = dir_ + "/ferry.toml";
    }
    ~config_file() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& path() const { return path_; }
    const std::string& dir() const { return dir_; }
    void write(const std::string& text) const {
        // Written to a new file and renamed: ferry never reads half a file.
        const auto fresh = path_ + ".new";
        std::ofstream(fresh) << text;
        std::filesystem::rename(fresh, path_);
    }

private:
    std::string dir_, path_;
};

// Sends SIGHUP and waits until ferry has said `expected` once more than before.
bool reload(ferry_process& ferry, const std::string& expected) {
    const int before = count_in(ferry.err(), expected);
    if (::kill(ferry.pid(), SIGHUP) != 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (count_in(ferry.err(), expected) > before) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

std::string rules(bool block) {
    // Either way the test origin (127.0.0.1) is allowed; `block` denies *.blocked.localhost.
    std::string text = "listen = [\"127.0.0.1:0\"]\n";
    if (block)
        text += "[[acl]]\naction = \"deny\"\nname = \"blocked\"\ndest = [\".blocked.localhost\"]\n";
    text += "[[acl]]\naction = \"allow\"\nclient = [\"127.0.0.0/8\"]\n";
    return text;
}

std::string contents(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Waits until the file at `path` holds `text`.
bool file_gets(const std::string& path, const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (contents(path).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

// An origin that reads a request and holds it until ferry goes away.
void holding_handler(origin_connection& c) {
    if (c.read_head().empty()) return;
    c.stream.read_until_close(15s);
}

long status_through(const ferry_process& ferry, const std::string& url) {
    curl_client client;
    return client.perform({.url = url, .proxy = ferry.proxy_url()}).status;
}

} // namespace

TEST(Reload, TenReloadsUnderTrafficLoseNothingAndTheNewRulesApply) {
    test_origin origin;
    config_file config;
    config.write(rules(false));
    ferry_process ferry({"--config", config.path(), "--access-log", "off"}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto blocked = fmt::format("http://x.blocked.localhost:{}/size/10", origin.port());
    EXPECT_EQ(status_through(ferry, blocked), 200);

    std::atomic<bool> stop{false};
    std::atomic<int> done{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&] {
            curl_client client; // keep-alive: reloads happen between its exchanges
            for (int i = 0; i < 100000 && !stop; ++i) {
                auto r = client.perform({.url = origin.url("/size/1000"),
                                         .proxy = ferry.proxy_url(),
                                         .keep_body = false});
                if (r.code != CURLE_OK || r.status != 200 || r.body_size != 1000) ++failed;
                ++done;
            }
        });
    for (int i = 0; i < 10; ++i) {
        config.write(rules(i % 2 == 0));
        EXPECT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
        std::this_thread::sleep_for(50ms);
    }
    stop = true;
    for (auto& t : clients)
        t.join();
    EXPECT_GT(done.load(), 40);
    EXPECT_EQ(failed.load(), 0) << "of " << done.load();
    // The tenth reload installed the blocking rules (i = 8 blocks, i = 9 does not): write
    // them once more and check them.
    config.write(rules(true));
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = blocked, .proxy = ferry.proxy_url()});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, "ferry: denied by access rule 1 (\"blocked\")\n");
    EXPECT_EQ(status_through(ferry, origin.url("/size/10")), 200);
}

TEST(Reload, AnInvalidConfigurationKeepsTheRunningOne) {
    test_origin origin;
    config_file config;
    config.write(rules(true));
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    config.write("listen = [\"127.0.0.1:0\"]\n[[acl]]\naction = \"maybe\"\n");
    ASSERT_TRUE(reload(ferry, "ferry: reload failed: keeping the running configuration"))
        << ferry.err();
    EXPECT_NE(ferry.err().find("action"), std::string::npos) << ferry.err();
    EXPECT_TRUE(ferry.running());
    const auto blocked = fmt::format("http://x.blocked.localhost:{}/", origin.port());
    EXPECT_EQ(status_through(ferry, blocked), 403) << "the running rules still apply";
    EXPECT_EQ(status_through(ferry, origin.url("/size/10")), 200);
}

TEST(Reload, ListenersAreAddedAndRemoved) {
    test_origin origin;
    config_file config;
    const int first = unused_port();
    config.write(fmt::format("listen = [\"127.0.0.1:{}\"]\n", first));
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_EQ(ferry.port(), first);
    const int second = unused_port();
    config.write(fmt::format("listen = [\"127.0.0.1:{}\"]\n", second));
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_TRUE(
        ferry.wait_for_out(fmt::format("Starting proxy server on port {} (127.0.0.1)\n", second)));
    EXPECT_TRUE(ferry.wait_for_out(
        fmt::format("Shutting down proxy server on port {} (127.0.0.1)\n", first)));

    auto s = tcp_stream::connect_to(second);
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url("/size/5"),
                                       origin.authority())));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
    // The old port no longer accepts (the closed acceptor refuses new connections).
    bool refused = false;
    for (int i = 0; i < 50 && !refused; ++i) {
        auto old = tcp_stream::connect_to(first);
        refused = !old.ok();
        if (!refused) std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(refused) << "port " << first << " still accepts";
}

TEST(Reload, AnExchangeInFlightFinishesUnderTheRulesItStartedWith) {
    test_origin origin;
    config_file config;
    config.write("listen = [\"127.0.0.1:0\"]\n");
    ferry_process ferry({"--config", config.path(), "--workers", "1"}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                                       origin.url("/slow/800"), origin.authority())));
    std::this_thread::sleep_for(200ms); // the request is with the origin
    config.write("listen = [\"127.0.0.1:0\"]\n[[acl]]\naction = \"deny\"\nname = \"closed\"\n");
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), "slow\n");
    // The next request on the same connection is judged by the new rules.
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url("/size/5"),
                                       origin.authority())));
    auto next = s.read_response(5s);
    EXPECT_EQ(status_of(next), 403) << printable(next);
    EXPECT_EQ(body_of(next), "ferry: denied by access rule 1 (\"closed\")\n");
}

TEST(Reload, TheFlowLogMovesToTheNewFile) {
    // Once the flow log stayed where it was opened at start, and the reload said nothing.
    test_origin origin;
    config_file config;
    const auto first = config.dir() + "/flow-1.log", second = config.dir() + "/flow-2.log";
    auto with_flow_log = [](const std::string& path) {
        return fmt::format("listen = [\"127.0.0.1:0\"]\naccess_log = \"off\"\nflow_log = \"{}\"\n",
                           path);
    };
    config.write(with_flow_log(first));
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(status_through(ferry, origin.url("/size/10")), 200);
    EXPECT_TRUE(file_gets(first, "/size/10")) << contents(first);

    config.write(with_flow_log(second));
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_EQ(ferry.err().find("changes only on restart"), std::string::npos) << ferry.err();
    EXPECT_EQ(status_through(ferry, origin.url("/size/11")), 200);
    EXPECT_TRUE(file_gets(second, "/size/11")) << contents(second);
    EXPECT_EQ(contents(first).find("/size/11"), std::string::npos) << contents(first);

    // A destination that cannot be opened: said, and the flow log stays where it is.
    config.write(with_flow_log("/nonexistent-ferry-dir/flow.log"));
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_NE(
        ferry.err().find("ferry: reload: cannot open flow log /nonexistent-ferry-dir/flow.log "
                         "(still writing to " +
                         second + ")"),
        std::string::npos)
        << ferry.err();
    EXPECT_EQ(status_through(ferry, origin.url("/size/12")), 200);
    EXPECT_TRUE(file_gets(second, "/size/12")) << contents(second);
}

TEST(Reload, TheShutdownTimeoutIsTheReloadedOne) {
    // Once SIGTERM waited for the start-up value (30 s here) whatever a reload said.
    test_origin origin(holding_handler);
    config_file config;
    config.write("listen = [\"127.0.0.1:0\"]\nshutdown_timeout = 30\n");
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    config.write("listen = [\"127.0.0.1:0\"]\nshutdown_timeout = 1\n");
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
                                       origin.url("/forever"), origin.authority())));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (origin.connections() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(origin.connections(), 1);
    const auto signalled = std::chrono::steady_clock::now();
    const int status = ferry.stop(SIGTERM, 20s);
    const auto took = std::chrono::steady_clock::now() - signalled;
    EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_GE(took, 800ms) << "the exchange in flight deserved its second";
    // Well short of the 30 s it started with, with room for a loaded machine.
    EXPECT_LT(took, 10s) << "the reloaded shutdown_timeout = 1 was not kept";
}

TEST(Reload, WhatOnlyARestartChangesIsNamed) {
    config_file config;
    config.write("listen = [\"127.0.0.1:0\"]\nworkers = 2\n");
    ferry_process ferry({"--config", config.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    config.write("listen = [\"127.0.0.1:0\"]\nworkers = 3\ndns_timeout = 2\nvia = \"edge\"\n");
    ASSERT_TRUE(reload(ferry, "ferry: configuration reloaded")) << ferry.err();
    EXPECT_NE(ferry.err().find("ferry: reload: workers changes only on restart; keeping it\n"),
              std::string::npos)
        << ferry.err();
    EXPECT_NE(ferry.err().find("ferry: reload: dns_timeout changes only on restart; keeping it\n"),
              std::string::npos)
        << ferry.err();
    EXPECT_EQ(ferry.err().find("via changes"), std::string::npos) << ferry.err();
}
