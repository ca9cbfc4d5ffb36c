// Chromium (Debian's, headless) with --proxy-server=https://127.0.0.1:P negotiates HTTP/2 with
// ferry's TLS listener (ALPN h2) and loads a page of 100 images, a script and a WebSocket
// (ws:// through a proxy is a CONNECT stream) from a test origin
// (tests/integration/h2clients/page_origin.py). The page reports what loaded by requesting
// /done?…, which the origin writes to a file. ferry's access log shows every request to the
// origin, the WebSocket's CONNECT included, came over one HTTP/2 connection: each line ends
// with " proto=h2 conn=C stream=S", with one C and a different S. Chromium trusts the proxy's
// certificate by its key (--ignore-certificate-errors-spki-list), as in https_chromium_test.
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/ports.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <regex>
#include <set>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* chromium = "/usr/bin/chromium";
constexpr const char* python = "/usr/bin/python3";
constexpr int resources = 100;

std::string origin_script() {
    return std::string(FERRY_SOURCE_DIR) + "/tests/integration/h2clients/page_origin.py";
}

} // namespace

TEST(Http2Chromium, APageOfAHundredImagesAndAWebSocketComesOverOneHttp2Connection) {
    if (::access(chromium, X_OK) != 0)
        GTEST_SKIP() << chromium << " missing (Debian package chromium)";
    tls_files files;
    ASSERT_TRUE(files.ok()) << files.error();
    const int origin_port = unused_port();
    const auto done = files.path("done.txt");
    background_program origin({python, origin_script(), std::to_string(origin_port), done,
                               std::to_string(resources), "0"},
                              files.path("origin.log"));
    ASSERT_TRUE(wait_for_listener(origin_port)) << read_file(files.path("origin.log"));

    auto args = files.https_args();
    args.insert(args.end(),
                {"--connect-ports", std::to_string(origin_port), "--log-flush-interval", "0"});
    ferry_process ferry(args, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto spki = files.spki_sha256(files.proxy_cert());
    ASSERT_FALSE(spki.empty());
    const auto home = files.path("home");
    std::filesystem::create_directories(home);
    auto argv = without_proxy_environment();
    argv.insert(argv.end(),
                {"HOME=" + home, chromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--user-data-dir=" + home + "/profile",
                 fmt::format("--proxy-server=https://127.0.0.1:{}", ferry.port()),
                 "--proxy-bypass-list=<-loopback>", "--ignore-certificate-errors-spki-list=" + spki,
                 fmt::format("http://127.0.0.1:{}/", origin_port)});
    background_program browser(argv, files.path("chromium.log"));
    ASSERT_TRUE(browser.started());

    // Chromium's start under a busy CI machine takes a few seconds; the page, then.
    const bool reported = eventually([&] { return std::filesystem::exists(done); }, 45s);
    ASSERT_TRUE(reported) << "the page never reported\nchromium:\n"
                          << tail(read_file(files.path("chromium.log"))) << "\nferry:\n"
                          << tail(ferry.out(), 4000) << ferry.err();
    EXPECT_EQ(read_file(done), fmt::format("images={}&failed=0&ws=pong%3Aping", resources));

    // The WebSocket's tunnel is logged when it ends (the origin closes after its answer).
    const auto authority = fmt::format("127.0.0.1:{}", origin_port);
    EXPECT_FALSE(wait_for_line(ferry, {" CONNECT " + authority + " 200 "}, 10s).empty())
        << "the WebSocket did not go through ferry:\n"
        << ferry.out();
    const auto base = "http://" + authority;
    EXPECT_FALSE(wait_for_line(ferry, {" GET " + base + "/done?"}).empty()) << ferry.out();

    // Every exchange with the origin: the page, app.js, the images, /done and the
    // WebSocket's CONNECT (favicon.ico too, when Chromium asks for it).
    static const std::regex h2_fields(R"( proto=h2 conn=(\d+) stream=(\d+)(?: |$))");
    std::set<std::string> connections;
    std::set<long> streams;
    int images = 0, lines = 0;
    for (const auto& line : lines_of(ferry.out())) {
        if (line.find(" " + base + "/") == std::string::npos &&
            line.find(" CONNECT " + authority + " ") == std::string::npos)
            continue;
        ++lines;
        std::smatch m;
        if (!std::regex_search(line, m, h2_fields)) {
            ADD_FAILURE() << "not an HTTP/2 exchange: " << line;
            continue;
        }
        connections.insert(m.str(1));
        EXPECT_TRUE(streams.insert(std::stol(m.str(2))).second) << "stream used twice: " << line;
        if (line.find(" " + base + "/img/") != std::string::npos &&
            line.find(" 200 ") != std::string::npos)
            ++images;
    }
    EXPECT_EQ(images, resources) << ferry.out();
    EXPECT_GE(lines, resources + 4) << ferry.out();
    EXPECT_EQ(connections.size(), 1u) << ferry.out();
}
