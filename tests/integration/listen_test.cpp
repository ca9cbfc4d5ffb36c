// Listeners are bound to a front end by their scheme: `--listen http://HOST:PORT` and the
// file's `listen = ["http://..."]` serve the HTTP/1.1 proxy as `HOST:PORT` always did; a scheme
// ferry does not serve (socks4, ftp) is refused by name at start (exit 2), in the file with
// its line, and on reload, where the running listeners carry on.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"

#include <gtest/gtest.h>

#include <chrono>
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

// A configuration file in a fresh directory, removed at the end of the test.
class config_file {
public:
    explicit config_file(const std::string& text) {
        std::string pattern = ::testing::TempDir() + "ferry-listen-XXXXXX";
        if (::mkdtemp(pattern.data())) dir_ = pattern;
        path_ = dir_ + "/ferry.toml";
        write(text);
    }
    ~config_file() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& path() const { return path_; }
    void write(const std::string& text) const {
        const auto fresh = path_ + ".new"; // renamed: ferry never reads half a file
        std::ofstream(fresh) << text;
        std::filesystem::rename(fresh, path_);
    }

private:
    std::string dir_, path_;
};

curl_response fetch_through(int port, const std::string& url) {
    curl_client client;
    return client.perform({.url = url, .proxy = fmt::format("http://127.0.0.1:{}", port)});
}

} // namespace

TEST(Listen, AnHttpSchemeServesTheProxy) {
    test_origin origin;
    const int port = unused_port();
    ferry_process ferry({"--listen", fmt::format("http://127.0.0.1:{}", port)}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.port(), port);
    EXPECT_NE(ferry.out().find(fmt::format("Starting proxy server on port {} (127.0.0.1)\n", port)),
              std::string::npos)
        << ferry.out();
    auto r = fetch_through(port, origin.url("/size/10"));
    EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, pattern(10));
}

TEST(Listen, TheFileTakesSchemesAndBareAddressesTogether) {
    test_origin origin;
    const int with_scheme = unused_port();
    int without = unused_port();
    while (without == with_scheme)
        without = unused_port();
    config_file file(fmt::format("listen = [\"http://127.0.0.1:{}/\", \"127.0.0.1:{}\"]\n",
                                 with_scheme, without));
    ferry_process ferry({"--config", file.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_TRUE(
        ferry.wait_for_out(fmt::format("Starting proxy server on port {} (127.0.0.1)\n", without)))
        << ferry.out();
    for (int port : {with_scheme, without}) {
        auto r = fetch_through(port, origin.url("/size/12"));
        EXPECT_EQ(r.code, CURLE_OK) << port << ": " << curl_easy_strerror(r.code);
        EXPECT_EQ(r.body, pattern(12)) << port;
    }
}

TEST(Listen, ASchemeFerryDoesNotServeIsAUsageError) {
    const int port = unused_port();
    for (std::string scheme : {"socks4", "ftp", "SOCKS4"}) {
        const auto address = fmt::format("{}://127.0.0.1:{}", scheme, port);
        auto r = run_ferry({"--listen", address}, 5s);
        ASSERT_TRUE(r.exited()) << address << " did not exit (it ran as a server?)";
        EXPECT_EQ(r.exit_code(), 2) << address;
        std::string lowered = scheme;
        for (auto& c : lowered)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_EQ(
            r.err,
            fmt::format(
                "ferry: --listen {}: unknown scheme \"{}\" (ferry serves: http, https, socks5)\n",
                address, lowered));
        EXPECT_EQ(r.out, "");
        EXPECT_TRUE(port_is_free(port)) << "nothing may listen for " << address;
    }
}

TEST(Listen, TheAdminListenerTakesNoOtherScheme) {
    auto r = run_ferry({"0", "--admin-listen", "https://127.0.0.1:0"}, 5s);
    ASSERT_TRUE(r.exited());
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: --admin-listen https://127.0.0.1:0: unknown scheme \"https\" (the "
                     "admin listener serves http only)\n");
    ferry_process ferry({"--admin-listen", "http://127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_TRUE(ferry.wait_for_out("Admin listener on port ")) << ferry.out();
}

TEST(Listen, ABadSchemeInTheFileNamesFileAndLine) {
    config_file file(
        "via = \"x\"\nlisten = [\n  \"127.0.0.1:0\",\n  \"socks4://127.0.0.1:1080\",\n]\n");
    const auto expected = fmt::format(
        "ferry: {}:4: listen: unknown scheme \"socks4\" (ferry serves: http, https, socks5)\n",
        file.path());
    auto started = run_ferry({"--config", file.path()}, 5s);
    ASSERT_TRUE(started.exited()) << "ferry ran with a listener it cannot serve";
    EXPECT_EQ(started.exit_code(), 2);
    EXPECT_EQ(started.err, expected);
    auto checked = run_ferry({"--check-config", file.path()}, 5s);
    EXPECT_EQ(checked.exit_code(), 2);
    EXPECT_EQ(checked.err, expected);
}

TEST(Listen, ABadSchemeOnReloadKeepsTheRunningListeners) {
    test_origin origin;
    const int port = unused_port();
    config_file file(fmt::format("listen = [\"http://127.0.0.1:{}\"]\n", port));
    ferry_process ferry({"--config", file.path()}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int other = unused_port();
    file.write(fmt::format("listen = [\"socks4://127.0.0.1:{}\"]\n", other));
    ASSERT_EQ(::kill(ferry.pid(), SIGHUP), 0);
    const std::string failed = "ferry: reload failed: keeping the running configuration\n";
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (ferry.err().find(failed) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_NE(
        ferry.err().find(fmt::format(
            "ferry: {}:1: listen: unknown scheme \"socks4\" (ferry serves: http, https, socks5)\n",
            file.path())),
        std::string::npos)
        << ferry.err();
    EXPECT_NE(ferry.err().find(failed), std::string::npos) << ferry.err();
    EXPECT_TRUE(port_is_free(other));
    auto r = fetch_through(port, origin.url("/size/7"));
    EXPECT_EQ(r.body, pattern(7)) << "the running listener still serves";
}
