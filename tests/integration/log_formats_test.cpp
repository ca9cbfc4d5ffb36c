// Access-log formats (--access-log-format squid|combined|json), reopening log files on
// SIGUSR1 (logrotate), and --flow-log to a file or stderr. Line shapes are in
// src/observe/access_log.h; every test reads what the real binary wrote.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <regex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;

namespace {

// A fresh directory for files ferry writes; removed with its content at the end of a test.
struct temp_dir {
    std::string path;
    temp_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-formats-XXXXXX";
        path = mkdtemp(pattern.data()) ? pattern : "";
    }
    ~temp_dir() {
        if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
    }
};

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// Polls `done` every 10 ms for at most `timeout`.
template <class F>
bool wait_until(F done, std::chrono::milliseconds timeout = 5s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// What the client received in all (head and body), as ferry counts bytes to the client.
std::uint64_t received(const curl_response& r) {
    return r.headers.size() + r.body_size;
}

const std::vector<std::string> test_headers = {"User-Agent: ferry-test/1.0",
                                               "Referer: http://referer.test/page"};

// The requests each format is tried with, all through one ferry writing to `log`.
struct exchanges {
    std::string get_url, connect_authority, unreachable_url, hostile_url;
    curl_response get, unreachable;
    std::string bad_target_response, hostile_response;
};

// A GET, a CONNECT (closed before returning), a 502 to an unreachable origin, a request
// whose target has a control byte and a quote (400), and a GET whose User-Agent has quotes,
// a backslash, a tab and bytes that are not UTF-8.
exchanges run_exchanges(const ferry_process& ferry, const test_origin& origin) {
    exchanges x;
    x.get_url = origin.url("/size/10");
    x.connect_authority = origin.authority();
    x.unreachable_url = fmt::format("http://127.0.0.1:{}/", unused_port());
    x.hostile_url = origin.url("/size/3");
    {
        curl_client client;
        x.get =
            client.perform({.url = x.get_url, .proxy = ferry.proxy_url(), .headers = test_headers});
    }
    {
        curl_client client;
        auto r = client.perform({.url = origin.url("/size/20"),
                                 .proxy = ferry.proxy_url(),
                                 .headers = test_headers,
                                 .tunnel = true});
        EXPECT_EQ(r.status, 200) << r.headers;
    }
    {
        curl_client client;
        x.unreachable = client.perform(
            {.url = x.unreachable_url, .proxy = ferry.proxy_url(), .headers = test_headers});
    }
    {
        auto s = tcp_stream::connect_to(ferry.port());
        EXPECT_TRUE(s.send_all("GET http://127.0.0.1:1/a\x01\"b HTTP/1.1\r\nHost: x\r\n\r\n"));
        x.bad_target_response = s.read_response(5s);
    }
    {
        auto s = tcp_stream::connect_to(ferry.port());
        EXPECT_TRUE(s.send_all(fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n"
                                           "User-Agent: evil \"quoted\" \\back\tslash \xff\xc3(\r\n"
                                           "Connection: close\r\n\r\n",
                                           x.hostile_url, origin.authority())));
        x.hostile_response = s.read_response(5s);
    }
    EXPECT_EQ(x.get.status, 200);
    EXPECT_EQ(x.unreachable.status, 502);
    EXPECT_EQ(status_of(x.bad_target_response), 400) << x.bad_target_response;
    EXPECT_EQ(status_of(x.hostile_response), 200) << x.hostile_response;
    return x;
}

// The line of `path` that contains `needle`, waited for.
std::string line_with(const std::string& path, const std::string& needle) {
    return wait_for_line_in_file(path, {needle});
}

// A squid line split at its fixed-width head: "SECONDS.MS ELAPSED REST".
struct squid_line {
    std::string time, elapsed, rest;
};
squid_line split_squid(const std::string& line) {
    if (line.size() < 22 || line[14] != ' ' || line[21] != ' ') return {};
    return {line.substr(0, 14), line.substr(15, 6), line.substr(22)};
}

// Every line of a file through Python's json module, each printed back with sorted keys and
// ASCII escapes; the file's bytes must also decode as strict UTF-8. Returns "" on failure.
std::string normalised_json(const std::string& path, std::string& error) {
    const auto command = fmt::format(
        "python3 -c 'import json,sys\n"
        "for raw in open(sys.argv[1], \"rb\"):\n"
        "    print(json.dumps(json.loads(raw.decode(\"utf-8\", \"strict\")), sort_keys=True))\n' "
        "'{}' 2>&1",
        path);
    std::FILE* p = ::popen(command.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buffer[4096];
    for (int i = 0; i < 10000; ++i) {
        auto n = std::fread(buffer, 1, sizeof buffer, p);
        if (n == 0) break;
        out.append(buffer, n);
    }
    const int status = ::pclose(p);
    if (status != 0) {
        error = out;
        return "";
    }
    return out;
}

std::string normalised_line_with(const std::string& normalised, const std::string& needle) {
    for (const auto& l : lines_of(normalised))
        if (l.find(needle) != std::string::npos) return l;
    return "";
}

} // namespace

// --- squid ----------------------------------------------------------------------------------

TEST(SquidLogFormat, GetConnectErrorsAndHostileTargets) {
    temp_dir dir;
    const auto path = dir.path + "/access.log";
    test_origin origin;
    ferry_process ferry(
        {"--access-log", path, "--access-log-format", "squid", "--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto x = run_exchanges(ferry, origin);

    const std::regex time_shape(R"(\d{10}\.\d{3})"), elapsed_shape(R"( *\d+)");
    auto get = split_squid(line_with(path, " GET " + x.get_url + " "));
    ASSERT_FALSE(get.rest.empty()) << read_file(path);
    EXPECT_TRUE(std::regex_match(get.time, time_shape)) << get.time;
    EXPECT_LT(std::abs(std::atol(get.time.c_str()) - std::time(nullptr)), 60) << get.time;
    EXPECT_TRUE(std::regex_match(get.elapsed, elapsed_shape)) << "[" << get.elapsed << "]";
    EXPECT_EQ(get.rest, fmt::format("127.0.0.1 TCP_MISS/200 {} GET {} - HIER_DIRECT/127.0.0.1 "
                                    "application/octet-stream",
                                    received(x.get), x.get_url));

    auto tunnel = split_squid(line_with(path, " CONNECT "));
    ASSERT_FALSE(tunnel.rest.empty()) << read_file(path);
    EXPECT_TRUE(std::regex_match(
        tunnel.rest, std::regex(fmt::format(R"(127\.0\.0\.1 TCP_TUNNEL/200 \d+ CONNECT )"
                                            R"({} - HIER_DIRECT/127\.0\.0\.1 -)",
                                            x.connect_authority))))
        << tunnel.rest;

    auto refused = split_squid(line_with(path, " " + x.unreachable_url + " "));
    EXPECT_EQ(refused.rest, fmt::format("127.0.0.1 TCP_MISS/502 {} GET {} - HIER_NONE/- "
                                        "text/plain;%20charset=utf-8",
                                        received(x.unreachable), x.unreachable_url));

    auto bad = split_squid(line_with(path, "NONE_NONE/400"));
    EXPECT_EQ(bad.rest, fmt::format("127.0.0.1 NONE_NONE/400 {} GET http://127.0.0.1:1/a%01\"b - "
                                    "HIER_NONE/- text/plain;%20charset=utf-8",
                                    x.bad_target_response.size()));

    auto hostile = split_squid(line_with(path, " " + x.hostile_url + " "));
    EXPECT_EQ(hostile.rest, fmt::format("127.0.0.1 TCP_MISS/200 {} GET {} - "
                                        "HIER_DIRECT/127.0.0.1 application/octet-stream",
                                        x.hostile_response.size(), x.hostile_url));
    EXPECT_EQ(lines_of(read_file(path)).size(), 5u) << read_file(path);
}

// --- combined -------------------------------------------------------------------------------

TEST(CombinedLogFormat, GetConnectErrorsAndHostileFieldsEscapedAsNginx) {
    temp_dir dir;
    const auto path = dir.path + "/access.log";
    test_origin origin;
    ferry_process ferry(
        {"--access-log", path, "--access-log-format", "combined", "--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto x = run_exchanges(ferry, origin);

    // "127.0.0.1 - - [dd/Mon/yyyy:HH:MM:SS +0000] " then the rest.
    const std::regex head(
        R"(127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] )");
    auto rest_of = [&](const std::string& line) -> std::string {
        std::smatch m;
        if (!std::regex_search(line, m, head) || m.position(0) != 0) return "bad head: " + line;
        return m.suffix();
    };
    EXPECT_EQ(rest_of(line_with(path, "\"GET " + x.get_url + " ")),
              fmt::format("\"GET {} HTTP/1.1\" 200 10 \"http://referer.test/page\" "
                          "\"ferry-test/1.0\"",
                          x.get_url));
    // libcurl sends a request's own fields to the origin only, not in the CONNECT.
    EXPECT_TRUE(std::regex_match(
        rest_of(line_with(path, "\"CONNECT ")),
        std::regex(fmt::format(R"("CONNECT {} HTTP/1\.1" 200 \d+ "-" "-")", x.connect_authority))))
        << read_file(path);
    EXPECT_EQ(rest_of(line_with(path, " " + x.unreachable_url + " ")),
              fmt::format("\"GET {} HTTP/1.1\" 502 {} \"http://referer.test/page\" "
                          "\"ferry-test/1.0\"",
                          x.unreachable_url, x.unreachable.body.size()));
    EXPECT_EQ(rest_of(line_with(path, "\" 400 ")),
              fmt::format("\"GET http://127.0.0.1:1/a\\x01\\x22b HTTP/1.1\" 400 {} \"-\" \"-\"",
                          body_of(x.bad_target_response).size()));
    EXPECT_EQ(rest_of(line_with(path, " " + x.hostile_url + " ")),
              fmt::format("\"GET {} HTTP/1.1\" 200 3 \"-\" "
                          "\"evil \\x22quoted\\x22 \\x5Cback\\x09slash \\xFF\\xC3(\"",
                          x.hostile_url));
    EXPECT_EQ(lines_of(read_file(path)).size(), 5u) << read_file(path);
}

// --- json -----------------------------------------------------------------------------------

TEST(JsonLogFormat, EveryLineIsValidJsonWithTheExpectedFields) {
    temp_dir dir;
    const auto path = dir.path + "/access.log";
    test_origin origin;
    ferry_process ferry(
        {"--access-log", path, "--access-log-format", "json", "--connect-ports", "any"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto x = run_exchanges(ferry, origin);
    ASSERT_TRUE(wait_until([&] { return lines_of(read_file(path)).size() >= 5; }))
        << read_file(path);
    ASSERT_EQ(lines_of(read_file(path)).size(), 5u) << read_file(path);

    std::string error;
    const auto all = normalised_json(path, error);
    ASSERT_FALSE(all.empty()) << error << "\n" << read_file(path);

    auto get = normalised_line_with(all, "\"target\": \"" + x.get_url + "\"");
    ASSERT_FALSE(get.empty()) << all;
    const std::regex get_shape(
        fmt::format(R"(\{{"body_bytes": \d+, "bytes_from_client": \d+, "bytes_to_client": {}, )"
                    R"("client": "127\.0\.0\.1:\d+", "connection": \d+, )"
                    R"("duration_ms": \d+\.\d{{1,3}}, "method": "GET", "protocol": "HTTP/1\.1", )"
                    R"("referer": "http://referer\.test/page", )"
                    R"("status": 200, "target": "{}", )"
                    R"("time": "\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z", "upstream": "{}", )"
                    R"("user_agent": "ferry-test/1\.0"\}})",
                    received(x.get), x.get_url, origin.authority()));
    EXPECT_TRUE(std::regex_match(get, get_shape)) << get;

    auto tunnel = normalised_line_with(all, "\"method\": \"CONNECT\"");
    EXPECT_NE(tunnel.find("\"target\": \"" + x.connect_authority + "\""), std::string::npos)
        << tunnel;
    EXPECT_NE(tunnel.find("\"status\": 200"), std::string::npos) << tunnel;

    auto refused = normalised_line_with(all, "\"target\": \"" + x.unreachable_url + "\"");
    EXPECT_NE(refused.find("\"status\": 502"), std::string::npos) << refused;
    EXPECT_NE(refused.find("\"upstream\": null"), std::string::npos) << refused;
    EXPECT_NE(refused.find("\"cause\": \"ferry: "), std::string::npos) << refused;

    auto bad = normalised_line_with(all, "\"status\": 400");
    EXPECT_NE(bad.find(R"("target": "http://127.0.0.1:1/a\u0001\"b")"), std::string::npos) << bad;
    EXPECT_NE(bad.find(R"("cause": "ferry: invalid request-target")"), std::string::npos) << bad;

    auto hostile = normalised_line_with(all, "\"target\": \"" + x.hostile_url + "\"");
    EXPECT_NE(hostile.find(R"("user_agent": "evil \"quoted\" \\back\tslash \ufffd\ufffd(")"),
              std::string::npos)
        << hostile;
    EXPECT_EQ(all.find("\"user\""), std::string::npos) << "no user without authentication";
}

// --- reopening on SIGUSR1 -------------------------------------------------------------------

TEST(LogReopen, Sigusr1WritesToNewFilesAfterARename) {
    temp_dir dir;
    const auto access = dir.path + "/access.log", flow = dir.path + "/flow.log";
    test_origin origin;
    // An explicit connection limit: no start-up notice about a low open-file limit on stderr.
    ferry_process ferry({"--access-log", access, "--flow-log", flow, "--max-connections", "100"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    {
        curl_client client;
        EXPECT_EQ(client.perform({.url = origin.url("/size/1"), .proxy = ferry.proxy_url()}).status,
                  200);
    }
    ASSERT_FALSE(wait_for_line_in_file(access, {"/size/1 "}).empty()) << read_file(access);
    ASSERT_FALSE(wait_for_line_in_file(flow, {"[CLI disconnected from "}).empty())
        << read_file(flow);

    ASSERT_EQ(std::rename(access.c_str(), (access + ".1").c_str()), 0);
    ASSERT_EQ(std::rename(flow.c_str(), (flow + ".1").c_str()), 0);
    ASSERT_EQ(::kill(ferry.pid(), SIGUSR1), 0);
    ASSERT_TRUE(wait_until([&] { return exists(access) && exists(flow); }))
        << "ferry did not create new log files on SIGUSR1";

    {
        curl_client client;
        EXPECT_EQ(client.perform({.url = origin.url("/size/2"), .proxy = ferry.proxy_url()}).status,
                  200);
    }
    EXPECT_FALSE(wait_for_line_in_file(access, {"/size/2 "}).empty()) << read_file(access);
    EXPECT_FALSE(wait_for_line_in_file(flow, {" > GET " + origin.url("/size/2")}).empty())
        << read_file(flow);
    EXPECT_TRUE(ferry.running());

    const auto old_access = read_file(access + ".1"), old_flow = read_file(flow + ".1");
    const auto new_access = read_file(access), new_flow = read_file(flow);
    EXPECT_NE(old_access.find("/size/1 "), std::string::npos) << old_access;
    EXPECT_EQ(old_access.find("/size/2"), std::string::npos) << old_access;
    EXPECT_EQ(new_access.find("/size/1"), std::string::npos) << new_access;
    EXPECT_EQ(lines_of(old_access).size(), 1u) << old_access;
    EXPECT_EQ(lines_of(new_access).size(), 1u) << new_access;
    EXPECT_NE(old_flow.find(" > GET " + origin.url("/size/1")), std::string::npos) << old_flow;
    EXPECT_EQ(old_flow.find("/size/2"), std::string::npos) << old_flow;
    EXPECT_EQ(new_flow.find("/size/1"), std::string::npos) << new_flow;
    EXPECT_EQ(ferry.err(), "");
}

TEST(LogReopen, Sigusr1WithLogsOnStdoutChangesNothing) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    ASSERT_EQ(::kill(ferry.pid(), SIGUSR1), 0);
    curl_client client;
    EXPECT_EQ(client.perform({.url = origin.url("/size/4"), .proxy = ferry.proxy_url()}).status,
              200);
    EXPECT_FALSE(wait_for_line(ferry, {"/size/4 ", " 200 "}).empty()) << ferry.out();
    EXPECT_TRUE(ferry.running());
}

// --- where the flow log goes ----------------------------------------------------------------

TEST(FlowLogDestination, AFileImpliesFlowAndLeavesStdoutToTheAccessLog) {
    temp_dir dir;
    const auto flow = dir.path + "/flow.log";
    test_origin origin;
    ferry_process ferry({"--flow-log", flow});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    EXPECT_EQ(client.perform({.url = origin.url("/size/5"), .proxy = ferry.proxy_url()}).status,
              200);
    EXPECT_FALSE(wait_for_line_in_file(flow, {"CLI <== PRX --- SRV"}).empty()) << read_file(flow);
    EXPECT_FALSE(wait_for_line_in_file(flow, {" > GET " + origin.url("/size/5")}).empty())
        << read_file(flow);
    EXPECT_FALSE(wait_for_line(ferry, {"/size/5 ", " 200 "}).empty()) << ferry.out();
    EXPECT_EQ(ferry.out().find("PRX"), std::string::npos) << ferry.out();
}

TEST(FlowLogDestination, StderrTakesTheFlowLogOffStdout) {
    test_origin origin;
    ferry_process ferry({"--flow-log", "stderr"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    EXPECT_EQ(client.perform({.url = origin.url("/size/6"), .proxy = ferry.proxy_url()}).status,
              200);
    EXPECT_TRUE(wait_until([&] {
        return ferry.err().find(" > GET " + origin.url("/size/6")) != std::string::npos &&
               ferry.err().find("CLI <== PRX --- SRV") != std::string::npos;
    })) << ferry.err();
    EXPECT_FALSE(wait_for_line(ferry, {"/size/6 ", " 200 "}).empty()) << ferry.out();
    EXPECT_EQ(ferry.out().find("PRX"), std::string::npos) << ferry.out();
}

TEST(FlowLogDestination, DashIsStdoutAsWithFlow) {
    test_origin origin;
    ferry_process ferry({"--flow-log", "-", "--max-connections", "100"}); // no limit notice
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    EXPECT_EQ(client.perform({.url = origin.url("/size/7"), .proxy = ferry.proxy_url()}).status,
              200);
    EXPECT_FALSE(wait_for_line(ferry, {" > GET " + origin.url("/size/7")}).empty()) << ferry.out();
    EXPECT_EQ(ferry.err(), "");
}

// --- bad values -----------------------------------------------------------------------------

TEST(LogOptions, UnknownFormatAndUnwritableFlowLogAreRefused) {
    auto bad_format = run_ferry({"0", "--access-log-format", "apache"});
    EXPECT_TRUE(bad_format.exited());
    EXPECT_NE(bad_format.exit_code(), 0);
    EXPECT_NE(bad_format.err.find("--access-log-format"), std::string::npos) << bad_format.err;

    auto bad_flow = run_ferry({"0", "--flow-log", "/nonexistent-ferry-dir/flow.log"});
    EXPECT_EQ(bad_flow.exit_code(), 1) << bad_flow.err;
    EXPECT_NE(bad_flow.err.find("cannot open flow log /nonexistent-ferry-dir/flow.log"),
              std::string::npos)
        << bad_flow.err;
}
