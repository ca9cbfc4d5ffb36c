// What ferry prints about each exchange. With --flow, the original flow log: blocks headed
// `--- connection #N ---`, each written whole, so two exchanges never interleave (format in
// src/observe/flow_log.h). Without it, one access-log line per exchange (format in
// src/observe/access_log.h), on stdout, in a file with --access-log PATH, or nowhere with off.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/requests.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <regex>
#include <unistd.h>

using namespace ferry_test;

namespace {

const std::regex connection_header(R"(--- connection #(\d+) ---)");

// ferry's stdout after its start-up lines.
std::string after_start(const std::string& out) {
    std::string rest;
    for (const auto& line : lines_of(out))
        if (line.rfind("Starting proxy server on port ", 0) != 0) rest += line + "\n";
    return rest;
}

// A fresh directory for files ferry writes; removed with its content at the end of a test.
struct temp_dir {
    std::string path;
    temp_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-logs-XXXXXX";
        path = mkdtemp(pattern.data()) ? pattern : "";
    }
    ~temp_dir() {
        if (!path.empty()) std::system(("rm -rf '" + path + "'").c_str());
    }
};

// Seconds between an access-log timestamp ("2024-05-01T12:00:00.123Z") and now.
double age_of(const std::string& iso) {
    std::tm tm{};
    if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 1e9;
    return std::difftime(std::time(nullptr), timegm(&tm));
}

} // namespace

// --- flow log -------------------------------------------------------------------------------

TEST(FlowLog, ShowsEveryStepOfAConnectionAndItsExchanges) {
    test_origin origin;
    ferry_process ferry({"--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const int client_port = local_port_of(s);
    ASSERT_TRUE(s.send_all(get(origin, "/size/123", "User-Agent: ferry-test/1.0\r\n")));
    EXPECT_EQ(body_of(s.read_response(5s)), pattern(123));
    ASSERT_TRUE(s.send_all(get(origin, "/chunked/2500", "User-Agent: ferry-test/1.0\r\n")));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
    s.close();
    const auto client = fmt::format("127.0.0.1:{}", client_port);
    ASSERT_FALSE(wait_for_line(ferry, {"[CLI disconnected from " + client + "]"}).empty())
        << ferry.out();

    auto log = after_start(ferry.out());
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, connection_header)) << log;
    const auto header = m.str(0) + "\n";
    const auto o = origin.authority();
    const auto expected = header + "[CLI connected to " + client + "]\n" +    //
                          header + "CLI ==> PRX --- SRV\n" +                  //
                          " > GET http://" + o + "/size/123 HTTP/1.1\n" +     //
                          " > ferry-test/1.0\n" +                             //
                          "[SRV connected to " + o + "]\n" +                  //
                          "CLI --- PRX ==> SRV\n" +                           //
                          "CLI --- PRX <== SRV\n" +                           //
                          " > HTTP/1.1 200 OK\n" +                            //
                          " > application/octet-stream 123 bytes\n" +         //
                          "CLI <== PRX --- SRV\n" +                           //
                          "[SRV connection to " + o + " kept for reuse]\n" +  //
                          header + "CLI ==> PRX --- SRV\n" +                  //
                          " > GET http://" + o + "/chunked/2500 HTTP/1.1\n" + //
                          " > ferry-test/1.0\n" +                             //
                          "[SRV connection to " + o + " reused]\n" +          //
                          "CLI --- PRX ==> SRV\n" +                           //
                          "CLI --- PRX <== SRV\n" +                           //
                          " > HTTP/1.1 200 OK\n" +                            //
                          " > application/octet-stream 2500 bytes\n" +        //
                          "CLI <== PRX --- SRV\n" +                           //
                          "[SRV connection to " + o + " kept for reuse]\n" +  //
                          header + "[CLI disconnected from " + client + "]\n";
    EXPECT_EQ(log, expected);
}

TEST(FlowLog, CurlUserAgentAndFerrysOwnAnswers) {
    ferry_process ferry({"--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = "http://no-such-host.invalid/x",
                             .proxy = ferry.proxy_url(),
                             .headers = {"User-Agent: curl-from-test"}});
    EXPECT_EQ(r.status, 502);
    ASSERT_FALSE(wait_for_line(ferry, {"CLI <== PRX --- SRV"}).empty()) << ferry.out();
    auto log = after_start(ferry.out());
    // The exchange block: request, agent, ferry's answer, no upstream steps.
    EXPECT_NE(log.find("CLI ==> PRX --- SRV\n"
                       " > GET http://no-such-host.invalid/x HTTP/1.1\n"
                       " > curl-from-test\n"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("[SRV connected"), std::string::npos) << log;
    EXPECT_NE(log.find("502"), std::string::npos) << log;
    EXPECT_NE(log.find("no-such-host.invalid\nCLI <== PRX --- SRV\n"), std::string::npos) << log;
}

TEST(FlowLog, AccessLogIsOffUnlessAskedFor) {
    test_origin origin;
    ferry_process ferry({"--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    ASSERT_FALSE(wait_for_line(ferry, {"CLI <== PRX --- SRV"}).empty()) << ferry.out();
    EXPECT_TRUE(wait_for_line(ferry, {" GET ", "ms"}, 300ms).empty()) << ferry.out();
}

TEST(FlowLog, BlocksOfConcurrentExchangesNeverInterleave) {
    test_origin origin;
    ferry_process ferry({"--flow", "--workers", "2"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    constexpr int clients = 6, requests = 10;
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
            curl_client client;
            for (int i = 0; i < requests; ++i) {
                std::size_t n = 20000 + 1000 * t + i;
                auto r = client.perform({.url = origin.url(fmt::format("/size/{}", n)),
                                         .proxy = ferry.proxy_url(),
                                         .headers = {fmt::format("User-Agent: client-{}", t)},
                                         .keep_body = false});
                if (r.code != CURLE_OK || r.body_size != n) ++failed;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    ASSERT_EQ(failed.load(), 0);

    // Every exchange block is whole: its lines, in order, about one request.
    const std::regex request(R"( > GET http://[^ ]+/size/(\d+) HTTP/1\.1)");
    const std::regex agent(R"( > client-(\d))");
    const std::regex upstream(R"(\[SRV (connected to|connection to) [^ ]+( reused)?\])");
    const std::regex fate(
        R"(\[SRV (connection to [^ ]+ kept for reuse|disconnected from [^ ]+)\])");
    const std::regex sizes(R"( > application/octet-stream (\d+) bytes)");
    auto deadline = std::chrono::steady_clock::now() + 5s;
    std::vector<std::vector<std::string>> blocks;
    for (;;) {
        blocks.clear();
        for (const auto& line : lines_of(after_start(ferry.out()))) {
            if (std::regex_match(line, connection_header))
                blocks.emplace_back();
            else if (!blocks.empty())
                blocks.back().push_back(line);
            else
                ADD_FAILURE() << "a line outside any block: " << line;
        }
        int exchanges = 0;
        for (const auto& b : blocks)
            exchanges += !b.empty() && b[0] == "CLI ==> PRX --- SRV";
        if (exchanges >= clients * requests || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(50ms);
    }
    int exchanges = 0;
    for (const auto& b : blocks) {
        ASSERT_FALSE(b.empty());
        if (b[0] != "CLI ==> PRX --- SRV") {
            EXPECT_EQ(b.size(), 1u) << "connect/disconnect blocks are one line: " << b[0];
            continue;
        }
        ++exchanges;
        ASSERT_EQ(b.size(), 10u) << "an exchange block of " << b.size() << " lines: " << b[1];
        std::smatch req, ua, size;
        ASSERT_TRUE(std::regex_match(b[1], req, request)) << b[1];
        ASSERT_TRUE(std::regex_match(b[2], ua, agent)) << b[2];
        EXPECT_TRUE(std::regex_match(b[3], upstream)) << b[3];
        EXPECT_EQ(b[4], "CLI --- PRX ==> SRV");
        EXPECT_EQ(b[5], "CLI --- PRX <== SRV");
        EXPECT_EQ(b[6], " > HTTP/1.1 200 OK");
        ASSERT_TRUE(std::regex_match(b[7], size, sizes)) << b[7];
        EXPECT_EQ(b[8], "CLI <== PRX --- SRV");
        EXPECT_TRUE(std::regex_match(b[9], fate)) << b[9];
        // The request, the agent and the response all belong to the same exchange.
        EXPECT_EQ(req.str(1), size.str(1));
        EXPECT_EQ((std::stoi(req.str(1)) - 20000) / 1000, std::stoi(ua.str(1))) << b[1] << b[2];
    }
    EXPECT_EQ(exchanges, clients * requests);
}

// --- access log -----------------------------------------------------------------------------

TEST(AccessLog, OneLinePerExchangeWithExactByteCounts) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const int client_port = local_port_of(s);
    const auto request = get(origin, "/size/123");
    ASSERT_TRUE(s.send_all(request));
    const auto response = s.read_response(5s);
    ASSERT_EQ(body_of(response), pattern(123));

    auto line = wait_for_line(ferry, {"/size/123"});
    ASSERT_FALSE(line.empty()) << ferry.out();
    std::smatch m;
    const std::regex format(
        R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\S+) (\d{3}) (\d+) (\d+) (\d+\.\d{3})ms)");
    ASSERT_TRUE(std::regex_match(line, m, format)) << line;
    EXPECT_LT(std::abs(age_of(m.str(1))), 60) << m.str(1);
    EXPECT_EQ(m.str(2), fmt::format("127.0.0.1:{}", client_port));
    EXPECT_EQ(m.str(3), "GET");
    EXPECT_EQ(m.str(4), origin.url("/size/123"));
    EXPECT_EQ(m.str(5), "200");
    EXPECT_EQ(m.str(6), std::to_string(response.size())) << "bytes to the client";
    EXPECT_EQ(m.str(7), std::to_string(request.size())) << "bytes from the client";
    EXPECT_LT(std::stod(m.str(8)), 5000.0);
    EXPECT_EQ(lines_of(after_start(ferry.out())).size(), 1u) << ferry.out();
}

TEST(AccessLog, CountsRequestBodiesAndTimesSlowOrigins) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    const auto body = pattern(5000, 3);
    const auto post = fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{}",
                                  origin.url("/echo"), origin.authority(), body.size(), body);
    ASSERT_TRUE(s.send_all(post));
    const auto echoed = s.read_response(5s);
    ASSERT_EQ(body_of(echoed), body);
    ASSERT_TRUE(s.send_all(get(origin, "/slow/400")));
    const auto slow = s.read_response(5s);
    ASSERT_EQ(body_of(slow), "slow\n");

    auto post_line = wait_for_line(ferry, {" POST ", "/echo "});
    EXPECT_NE(post_line.find(fmt::format(" 200 {} {} ", echoed.size(), post.size())),
              std::string::npos)
        << post_line;
    auto slow_line = wait_for_line(ferry, {" GET ", "/slow/400 "});
    std::smatch m;
    ASSERT_TRUE(std::regex_search(slow_line, m, std::regex(R"( (\d+\.\d{3})ms$)"))) << slow_line;
    EXPECT_GE(std::stod(m.str(1)), 390.0) << slow_line;
}

TEST(AccessLog, ClientGoneMidRequestIsLoggedWithStatus000AndTheCause) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    {
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(fmt::format("PUT {} HTTP/1.1\r\nHost: {}\r\n"
                                           "Content-Length: 1000\r\n\r\nonly ten b",
                                           origin.url("/echo"), origin.authority())));
        std::this_thread::sleep_for(200ms);
    } // closed with 990 bytes missing
    auto line = wait_for_line(ferry, {" PUT ", "/echo "});
    ASSERT_FALSE(line.empty()) << ferry.out();
    EXPECT_NE(line.find(" 000 "), std::string::npos) << line;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"re(ms "([^"]+)"$)re"))) << line;
    EXPECT_NE(m.str(1).find("client"), std::string::npos) << line;
}

TEST(AccessLog, PipelinedExchangesAreLoggedInOrder) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(
        s.send_all(get(origin, "/size/1") + get(origin, "/status/404") + get(origin, "/size/3")));
    for (int i = 0; i < 3; ++i)
        s.read_response(5s);
    ASSERT_FALSE(wait_for_line(ferry, {"/size/3 "}).empty());
    auto lines = lines_of(after_start(ferry.out()));
    ASSERT_EQ(lines.size(), 3u) << ferry.out();
    EXPECT_NE(lines[0].find("/size/1 200 "), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("/status/404 404 "), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find("/size/3 200 "), std::string::npos) << lines[2];
}

TEST(AccessLog, NoLineIsLostWhenFerryStops) {
    test_origin origin;
    ferry_process ferry;
    ASSERT_TRUE(ferry.started()) << ferry.err();
    {
        curl_client client;
        auto r = client.perform({.url = origin.url("/size/8"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK);
    }
    ASSERT_NE(ferry.stop(SIGTERM), -1);
    EXPECT_NE(ferry.out().find(origin.url("/size/8") + " 200 "), std::string::npos)
        << "the last exchange before SIGTERM is missing from the access log:\n"
        << ferry.out();
}

TEST(AccessLog, GoesToAFileWhenGivenAPath) {
    temp_dir dir;
    ASSERT_FALSE(dir.path.empty());
    const auto path = dir.path + "/access.log";
    test_origin origin;
    ferry_process ferry({"--access-log", path});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    client.perform({.url = origin.url("/size/42"), .proxy = ferry.proxy_url()});
    client.perform({.url = "http://no-such-host.invalid/", .proxy = ferry.proxy_url()});
    auto ok_line = wait_for_line_in_file(path, {origin.url("/size/42"), " 200 "});
    EXPECT_FALSE(ok_line.empty()) << read_file(path);
    auto error_line = wait_for_line_in_file(path, {"no-such-host.invalid", " 502 "});
    EXPECT_NE(error_line.find("\"ferry: "), std::string::npos) << error_line;
    EXPECT_EQ(lines_of(read_file(path)).size(), 2u) << read_file(path);
    EXPECT_EQ(after_start(ferry.out()), "") << "nothing but the start-up line on stdout";
}

TEST(AccessLog, AppendsToAnExistingFile) {
    temp_dir dir;
    const auto path = dir.path + "/access.log";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("earlier line\n", f);
        std::fclose(f);
    }
    test_origin origin;
    ferry_process ferry({"--access-log", path});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    client.perform({.url = origin.url("/size/1"), .proxy = ferry.proxy_url()});
    ASSERT_FALSE(wait_for_line_in_file(path, {"/size/1 "}).empty()) << read_file(path);
    EXPECT_EQ(read_file(path).rfind("earlier line\n", 0), 0u) << read_file(path);
}

TEST(AccessLog, OffPrintsNothing) {
    test_origin origin;
    ferry_process ferry({"--access-log", "off"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = origin.url("/size/42"), .proxy = ferry.proxy_url()});
    EXPECT_EQ(r.status, 200);
    client.perform({.url = "http://no-such-host.invalid/", .proxy = ferry.proxy_url()});
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(after_start(ferry.out()), "");
}

TEST(AccessLog, DashIsStdoutAndCombinesWithAFlowLogFile) {
    // --access-log - is the default; with --flow and a file, each goes to its own place.
    temp_dir dir;
    const auto path = dir.path + "/access.log";
    test_origin origin;
    ferry_process ferry({"--flow", "--access-log", path});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    client.perform({.url = origin.url("/size/5"), .proxy = ferry.proxy_url()});
    EXPECT_FALSE(wait_for_line_in_file(path, {"/size/5 ", " 200 "}).empty()) << read_file(path);
    EXPECT_FALSE(wait_for_line(ferry, {"CLI <== PRX --- SRV"}).empty()) << ferry.out();
    EXPECT_EQ(read_file(path).find("PRX"), std::string::npos) << read_file(path);

    ferry_process dash({"--access-log", "-"});
    ASSERT_TRUE(dash.started()) << dash.err();
    client.perform({.url = origin.url("/size/6"), .proxy = dash.proxy_url()});
    EXPECT_FALSE(wait_for_line(dash, {"/size/6 ", " 200 "}).empty()) << dash.out();
}
