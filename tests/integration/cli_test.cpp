// The command line as a user meets it: --help and --version, the positional port, repeated
// --listen with IPv6, start-up and shut-down messages, a graceful stop on SIGINT/SIGTERM that
// lets in-flight exchanges finish (up to --shutdown-timeout) and exits 0, and bad arguments
// refused with one line, "ferry: ...", and exit status 2 (the same checks as the file's).
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/temp_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

using namespace ferry_test;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The ports of every "Starting proxy server on port N (ADDRESS)" line, in order.
std::vector<int> started_ports(const std::string& out) {
    std::vector<int> ports;
    const std::regex line(R"(Starting proxy server on port (\d+) \(.*\))");
    for (const auto& l : lines_of(out)) {
        std::smatch m;
        if (std::regex_match(l, m, line)) ports.push_back(std::stoi(m.str(1)));
    }
    return ports;
}

bool exited_zero(int status) {
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string describe(int status) {
    if (status == -1) return "did not exit in time";
    if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Waits for ferry to exit by itself (signal 0 sends nothing).
int wait_exit(ferry_process& ferry, std::chrono::milliseconds timeout) {
    return ferry.stop(0, timeout);
}

// An origin that reads a request and holds it until ferry goes away.
void holding_handler(origin_connection& c) {
    if (c.read_head().empty()) return;
    c.stream.read_until_close(15s);
}

} // namespace

TEST(Cli, HelpDescribesTheOptionsAndExitsZero) {
    auto r = run_ferry({"--help"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    for (auto option : {"--listen", "--flow", "--access-log", "--shutdown-timeout",
                        "--response-timeout", "--version"})
        EXPECT_NE(r.out.find(option), std::string::npos) << option << " missing from:\n" << r.out;
    EXPECT_EQ(started_ports(r.out).size(), 0u) << "--help must not start a server";
}

TEST(Cli, VersionPrintsTheVersionAndExitsZero) {
    auto r = run_ferry({"--version"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(ferry \d+\.\d+\.\d+)"))) << r.out;
}

TEST(Cli, PositionalPortListensOnLoopback) {
    test_origin origin;
    const int port = unused_port();
    ferry_process ferry({std::to_string(port)}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.port(), port);
    EXPECT_EQ(started_ports(ferry.out()), std::vector<int>{port});
    curl_client client;
    auto r = client.perform(
        {.url = origin.url("/size/10"), .proxy = fmt::format("http://127.0.0.1:{}", port)});
    EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.body, pattern(10));
}

TEST(Cli, WithoutArgumentsListensOn9001) {
    if (!port_is_free(9001)) GTEST_SKIP() << "127.0.0.1:9001 is taken on this machine";
    test_origin origin;
    ferry_process ferry({}, false);
    if (!ferry.started() && lower(ferry.err()).find("in use") != std::string::npos)
        GTEST_SKIP() << "127.0.0.1:9001 was taken meanwhile";
    ASSERT_TRUE(ferry.started()) << ferry.err();
    EXPECT_EQ(ferry.port(), 9001);
    curl_client client;
    auto r = client.perform({.url = origin.url("/size/10"), .proxy = "http://127.0.0.1:9001"});
    EXPECT_EQ(r.body, pattern(10));
}

TEST(Cli, ListenIsRepeatableAndTakesIpv6) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
    test_origin origin;
    ferry_process ferry({"--listen", "127.0.0.1:0", "--listen", "[::1]:0"}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (started_ports(ferry.out()).size() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    auto ports = started_ports(ferry.out());
    ASSERT_EQ(ports.size(), 2u) << ferry.out();
    EXPECT_NE(ports[0], ports[1]);

    curl_client client;
    auto v4 = client.perform(
        {.url = origin.url("/size/11"), .proxy = fmt::format("http://127.0.0.1:{}", ports[0])});
    EXPECT_EQ(v4.code, CURLE_OK) << curl_easy_strerror(v4.code);
    EXPECT_EQ(v4.body, pattern(11));
    curl_client client6;
    auto v6 = client6.perform(
        {.url = origin.url("/size/12"), .proxy = fmt::format("http://[::1]:{}", ports[1])});
    EXPECT_EQ(v6.code, CURLE_OK) << curl_easy_strerror(v6.code);
    EXPECT_EQ(v6.body, pattern(12));
    EXPECT_FALSE(wait_for_line(ferry, {" [::1]:", "/size/12 "}).empty())
        << "the access log names the IPv6 client:\n"
        << ferry.out();
    // The IPv4 listener is not also on ::1, nor the IPv6 one on 127.0.0.1.
    EXPECT_FALSE(connect_to_v6(ports[0]).ok());
    EXPECT_FALSE(tcp_stream::connect_to(ports[1]).ok());

    int status = ferry.stop(SIGTERM);
    EXPECT_TRUE(exited_zero(status)) << describe(status);
    for (int port : ports)
        EXPECT_NE(ferry.out().find(fmt::format("Shutting down proxy server on port {} (", port)),
                  std::string::npos)
            << ferry.out();
}

TEST(Cli, SigintStopsAnIdleServerWithExitZero) {
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto started = std::chrono::steady_clock::now();
    int status = ferry.stop(SIGINT, 10s);
    EXPECT_TRUE(exited_zero(status)) << describe(status) << "\n" << ferry.err();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "nothing was in flight";
    EXPECT_NE(ferry.out().find(
                  fmt::format("Shutting down proxy server on port {} (127.0.0.1)\n", ferry.port())),
              std::string::npos)
        << ferry.out();
}

TEST(Cli, SigtermLetsAnInFlightExchangeFinishThenExitsZero) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto download = std::async(std::launch::async, [&] {
        curl_client client;
        return client.perform({.url = origin.url("/slow/1500"), .proxy = ferry.proxy_url()});
    });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (origin.connections() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(origin.connections(), 1) << "the request never reached the origin";
    std::this_thread::sleep_for(100ms);

    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    EXPECT_TRUE(ferry.wait_for_out(
        fmt::format("Shutting down proxy server on port {} (127.0.0.1)\n", ferry.port()), 1s))
        << ferry.out();
    // Once ferry says it is shutting down, no new client is served.
    std::this_thread::sleep_for(200ms);
    auto late = tcp_stream::connect_to(ferry.port());
    if (late.ok()) {
        late.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.url("/size/1"),
                                  origin.authority()));
        auto answer = late.read_response(3s);
        EXPECT_EQ(status_of(answer), 0) << "served after the shutdown signal: " << answer;
    }

    auto r = download.get();
    EXPECT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "slow\n");
    int status = wait_exit(ferry, 5s);
    EXPECT_TRUE(exited_zero(status)) << describe(status) << "\n" << ferry.err();
}

TEST(Cli, IdleKeepAliveClientsDoNotDelayShutdown) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client; // keeps its connection to ferry open, idle
    auto r = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK);
    auto raw = tcp_stream::connect_to(ferry.port()); // connected, never sent a byte
    ASSERT_TRUE(raw.ok());
    auto signalled = std::chrono::steady_clock::now();
    int status = ferry.stop(SIGTERM, 15s);
    EXPECT_TRUE(exited_zero(status)) << describe(status);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 3s)
        << "idle connections held ferry up to its shutdown timeout";
    EXPECT_TRUE(raw.peer_closed(1s));
}

TEST(Cli, ShutdownTimeoutCutsOffWhatIsStillInFlight) {
    test_origin origin(holding_handler);
    ferry_process ferry({"--shutdown-timeout", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto download = std::async(std::launch::async, [&] {
        curl_client client;
        return client.perform(
            {.url = origin.url("/forever"), .proxy = ferry.proxy_url(), .timeout_ms = 15000});
    });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (origin.connections() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(origin.connections(), 1);

    auto signalled = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    int status = wait_exit(ferry, 8s);
    auto took = std::chrono::steady_clock::now() - signalled;
    EXPECT_TRUE(exited_zero(status)) << describe(status) << "\n" << ferry.err();
    EXPECT_GE(took, 800ms) << "the in-flight exchange deserved its second";
    EXPECT_LT(took, 4s) << "--shutdown-timeout 1 was not kept";
    auto r = download.get();
    EXPECT_NE(r.status, 200);
}

TEST(Cli, BadArgumentsAreRefusedWithAMessage) {
    struct bad {
        std::vector<std::string> args;
        std::string mentions; // lower case
    };
    const std::vector<bad> cases = {
        {{"--no-such-option"}, "no-such-option"},
        {{"--listen", "nonsense"}, "nonsense"},
        {{"--listen", "[::1]"}, "listen"},
        {{"--listen", "127.0.0.1:99999"}, "listen"},
        {{"70000"}, "70000"},
        {{"not-a-port"}, "not-a-port"},
        {{"0", "--response-timeout", "0"}, "timeout"},
        {{"0", "--shutdown-timeout", "-1"}, "timeout"},
        {{"0", "--access-log", "/nonexistent-dir/ferry/access.log"}, "/nonexistent-dir"},
    };
    for (const auto& c : cases) {
        auto r = run_ferry(c.args, 5s);
        std::string shown;
        for (const auto& a : c.args)
            shown += a + " ";
        EXPECT_TRUE(r.exited()) << shown << "did not exit (it ran as a server?)";
        EXPECT_NE(r.exit_code(), 0) << shown;
        EXPECT_NE(lower(r.err + r.out).find(c.mentions), std::string::npos)
            << shown << "the message does not mention " << c.mentions << ":\n"
            << r.err << r.out;
        EXPECT_EQ(started_ports(r.out).size(), 0u) << shown;
    }
}

TEST(Cli, PortInUseIsRefusedWithAMessage) {
    ferry_process first;
    ASSERT_TRUE(first.started()) << first.err();
    auto r = run_ferry({std::to_string(first.port())}, 5s);
    EXPECT_TRUE(r.exited()) << "a second ferry on a taken port kept running";
    EXPECT_NE(r.exit_code(), 0);
    EXPECT_NE(lower(r.err).find("in use"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(std::to_string(first.port())), std::string::npos) << r.err;
}

// --- usage errors: one line, "ferry: ...", exit status 2 -----------------------------------

namespace {

using toml_file = ferry_test::temp_file;

// What --check-config says about `text`, with the file's path shown as "F".
std::string file_says(const std::string& text) {
    toml_file file(text);
    auto r = run_ferry({"--check-config", file.path()});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    const auto at = r.err.find(file.path());
    if (at == std::string::npos) return r.err;
    // Pieces appended, not replace(): GCC 12 -O3 warns falsely (-Wstringop-overflow) on that.
    std::string said(r.err, 0, at);
    said += 'F';
    said.append(r.err, at + file.path().size(), std::string::npos);
    return said;
}

} // namespace

TEST(Cli, AnUnknownOptionIsNamedWithTheNearestKnownOne) {
    // Once: "port: Value /tmp/x.log not in range 0 to 65535", exit status 109.
    auto r = run_ferry({"--acces-log", "/tmp/x.log"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: unknown option --acces-log (did you mean --access-log?)\n");
    EXPECT_EQ(r.out, "");
    r = run_ferry({"--colour"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: unknown option --colour\n");
}

TEST(Cli, EveryUsageErrorIsOneLineWithTheFerryPrefixAndExitStatus2) {
    const std::vector<std::vector<std::string>> cases = {
        {"--no-such-option"},
        {"-x"},
        {"--workers", "four"},
        {"--workers", "0"},
        {"-w"},
        {"--listen"},
        {"70000"},
        {"8080", "8081"},
        {"--flow=yes"},
        {"--response-timeout", "0"},
        {"--via", "a", "--via", "b"},
        {"--max-header-size", "10"},
        {"--splice", "maybe"},
        {"--access-log-format", "apache"},
        {"--connect-ports", "0"},
        {"--config", "/nonexistent/ferry.toml"},
    };
    for (const auto& args : cases) {
        std::string shown;
        for (const auto& a : args)
            shown += a + " ";
        auto r = run_ferry(args, 5s);
        EXPECT_EQ(r.exit_code(), 2) << shown << describe(r.status) << "\n" << r.err;
        EXPECT_EQ(r.err.rfind("ferry: ", 0), 0u) << shown << r.err;
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << shown << "more than one line:\n" << r.err;
        EXPECT_EQ(r.out, "") << shown;
    }
}

TEST(Cli, BadValuesAreRefusedAsTheFileRefusesThem) {
    auto r = run_ferry({"--workers", "four"});
    EXPECT_EQ(r.err, "ferry: --workers four: expected an integer from 1 to 256\n");
    EXPECT_EQ(file_says("workers = 300\n"),
              "ferry: F:1: workers: expected an integer from 1 to 256\n");
    r = run_ferry({"--shutdown-timeout", "-1"});
    EXPECT_EQ(r.err, "ferry: --shutdown-timeout -1: expected a positive number of seconds\n");
    EXPECT_EQ(file_says("shutdown_timeout = -1\n"),
              "ferry: F:1: shutdown_timeout: expected a positive number of seconds\n");
}

TEST(Cli, ViaIsCheckedOnTheCommandLineAsInTheFile) {
    // Once refused only in the file: the command line took "two words" into Via.
    const std::string why = "expected a name without spaces, commas, parentheses or quotes";
    auto r = run_ferry({"--via", "two words"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: --via two words: " + why + "\n");
    EXPECT_EQ(file_says("via = \"two words\"\n"), "ferry: F:1: via: " + why + "\n");
    r = run_ferry({"--via", "a(b)"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: --via a(b): " + why + "\n");
}

TEST(Cli, RealmQuotingIsRefusedOnTheCommandLineAsInTheFile) {
    const std::string why = "a realm cannot contain quotes or backslashes";
    auto r = run_ferry({"--htpasswd", "/dev/null", "--auth-realm", "a\"b"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_EQ(r.err, "ferry: --auth-realm a\"b: " + why + "\n");
    r = run_ferry({"--auth-realm", "a\\b"});
    EXPECT_EQ(r.err, "ferry: --auth-realm a\\b: " + why + "\n");
    EXPECT_EQ(file_says("[auth]\nrealm = \"a\\\"b\"\n"), "ferry: F:2: auth.realm: " + why + "\n");
}

// Seconds: the range is named when a value is out of it (a positive value under a
// millisecond would have been a timeout of 0: no wait at all); the bounds are accepted.
TEST(Cli, SecondsOutOfRangeAreRefusedWithTheRangeNamed) {
    auto r = run_ferry({"--header-timeout", "0.0001"}, 5s);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(
        r.err,
        "ferry: --header-timeout 0.0001: expected at least 0.001 seconds (one millisecond)\n");
    r = run_ferry({"--idle-timeout", "2e9"}, 5s);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: --idle-timeout 2e9: expected at most 1000000000 seconds\n");
    toml_file empty("");
    r = run_ferry({"--check-config", empty.path(), "--header-timeout", "0.001", "--idle-timeout",
                   "1e9", "--dns-negative-ttl", "0", "--access-log", "stderr"},
                  5s);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
}

// An empty value is shown as "", a parent's password as ***.
TEST(Cli, ValueMessagesShowTheValueGiven) {
    auto r = run_ferry({"--via="}, 5s);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: --via \"\": expected a non-empty string\n");
    r = run_ferry({"--parent", "http://alice:secret@proxy.example:0"}, 5s);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_EQ(r.err, "ferry: --parent http://alice:***@proxy.example:0: expected a port 1-65535 "
                     "after the host\n");
}
