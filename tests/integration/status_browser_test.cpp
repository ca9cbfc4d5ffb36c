// The admin listener's pages in a real browser: Debian's Chromium, headless, driven over the
// DevTools protocol on a pipe by tests/integration/status/driver.py (Python's standard library;
// see cdp.py for why not WebDriver). ferry runs with --admin-listen and a test origin; the driver
// opens a page, sends traffic through ferry with curl and prints what the page showed as
// key=value lines, which these tests assert:
//   - the status page's figures and its plots' last points change live (SSE, no reload);
//   - the flow page shows the exchanges as they happen, its filters hide and show the right
//     blocks, pause holds new ones back and resume catches up;
//   - a Cookie, Authorization or Proxy-Authorization value sent through ferry is never in a page;
//   - with JavaScript off, both pages still show the figures (server-rendered).
// Screenshots go to tests/artifacts/ beside the test binary (the path is printed).
#include "support/admin_client.h"
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/text.h"
#include "support/tls_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr const char* chromium = "/usr/bin/chromium";
constexpr const char* python = "/usr/bin/python3";
constexpr const char* secret = "s3cret-value-7f1d";

std::string driver_script() {
    return std::string(FERRY_SOURCE_DIR) + "/tests/integration/status/driver.py";
}

// build/tests/artifacts: beside the test binary, kept after the run.
std::string artifact(const std::string& name) {
    const auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "artifacts";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

class temp_dir {
public:
    temp_dir() {
        std::string pattern = ::testing::TempDir() + "ferry-browser-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// One run of driver.py: its key=value lines, and everything it printed for failure messages.
struct driver_run {
    command_result result;
    std::map<std::string, std::string> values;

    std::string operator[](const std::string& key) const {
        auto it = values.find(key);
        return it == values.end() ? "" : it->second;
    }
    double number(const std::string& key) const {
        const auto v = (*this)[key];
        try {
            return v.empty() ? -1 : std::stod(v);
        } catch (const std::exception&) {
            return -1;
        }
    }
    bool ok() const { return result.exit_code() == 0 && (*this)["done"] == "1"; }
    std::string show() const {
        return fmt::format("driver exit {}\nstdout:\n{}\nstderr:\n{}", result.exit_code(),
                           printable(result.out, 4000), tail(result.err));
    }
};

// ferry with an admin listener and the origin(s) the scenarios talk to.
struct setup {
    test_origin origin;
    test_origin origin2;
    ferry_process ferry{{"--admin-listen", "127.0.0.1:0", "--log-flush-interval", "0"}};
    int admin = 0;
    temp_dir dir;

    setup() {
        if (ferry.started() && ferry.wait_for_out("Admin listener on port", 5s))
            admin = admin_port(ferry);
    }
    bool ready() const { return ferry.started() && admin != 0 && !dir.path().empty(); }

    driver_run run(const std::string& scenario, const std::vector<std::string>& more = {}) {
        std::vector<std::string> argv = {python,
                                         driver_script(),
                                         scenario,
                                         std::string("chromium=") + chromium,
                                         "workdir=" + dir.path() + "/" + scenario,
                                         fmt::format("admin={}", admin),
                                         fmt::format("proxy={}", ferry.port()),
                                         fmt::format("origin={}", origin.port()),
                                         fmt::format("origin2={}", origin2.port()),
                                         std::string("secret=") + secret,
                                         "limit=40"};
        argv.insert(argv.end(), more.begin(), more.end());
        driver_run r;
        r.result = run_program(argv, 50s);
        std::istringstream lines(r.result.out);
        for (std::string line; std::getline(lines, line);) {
            const auto eq = line.find('=');
            if (eq != std::string::npos) r.values[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return r;
    }
};

// Chromium and Debian's python3 are all the driver needs (scripts/install-deps.sh has both).
std::string missing_browser() {
    if (::access(chromium, X_OK) != 0)
        return std::string(chromium) + " missing (Debian package chromium)";
    if (::access(python, X_OK) != 0)
        return std::string(python) + " missing (Debian package python3)";
    return "";
}

#define REQUIRE_BROWSER()                                                                          \
    if (const auto why = missing_browser(); !why.empty()) GTEST_SKIP() << why

} // namespace

TEST(StatusBrowser, TheStatusPageFollowsTrafficLiveInItsTablesAndPlots) {
    REQUIRE_BROWSER();
    setup s;
    ASSERT_TRUE(s.ready()) << s.ferry.out() << s.ferry.err();
    const auto shot = artifact("status.png");
    const auto r = s.run("status", {"shot=" + shot});
    ASSERT_TRUE(r.ok()) << r.show();
    EXPECT_EQ(r["mode"], "sse") << r.show();
    // 900 seconds of history from the first /api/status.
    EXPECT_EQ(r.number("plot_points"), 900) << r.show();
    // 23 requests: the total in the table, from the ticks alone (the page was not reloaded).
    const double before = r.number("before_requests");
    EXPECT_GE(before, 0) << r.show();
    EXPECT_EQ(r.number("after_requests"), before + 23) << r.show();
    EXPECT_EQ(r.number("api_requests"), before + 23) << r.show();
    EXPECT_GE(r.number("ticks"), 2) << r.show();
    // The plots' last points: the requests, the bytes to the clients (20 bodies of 1,000
    // bytes), the 404s and the 503, a latency.
    EXPECT_EQ(r.number("plot_requests_recent"), 23) << r.show();
    EXPECT_GE(r.number("plot_bytes_to_clients_recent"), 20000) << r.show();
    EXPECT_EQ(r.number("plot_4xx_recent"), 2) << r.show();
    EXPECT_EQ(r.number("plot_5xx_recent"), 1) << r.show();
    EXPECT_GT(r.number("plot_p50_max_recent"), 0) << r.show();
    EXPECT_LE(r.number("plot_last_t_age"), 5) << r.show();
    EXPECT_EQ(r.number("host_requests"), 23) << r.show();
    EXPECT_EQ(r["secret_in_page"], "0") << r.show();
    EXPECT_TRUE(std::filesystem::exists(shot)) << r.show();
    // Without EventSource the page polls /api/status, and follows 5 more requests.
    EXPECT_EQ(r["poll_mode"], "poll") << r.show();
    EXPECT_EQ(r.number("poll_requests_added"), 5) << r.show();
    std::cout << "screenshot: " << shot << "\n";
}

TEST(StatusBrowser, TheFlowPageShowsExchangesLiveFiltersThemAndPausesAndResumes) {
    REQUIRE_BROWSER();
    setup s;
    ASSERT_TRUE(s.ready()) << s.ferry.out() << s.ferry.err();
    const auto shot = artifact("flow.png");
    const auto r = s.run("flow", {"shot=" + shot});
    ASSERT_TRUE(r.ok()) << r.show();
    EXPECT_EQ(r["mode"], "sse") << r.show();
    EXPECT_EQ(r.number("blocks"), 6) << r.show();
    EXPECT_NE(r["first_block"].find("CLI ==> PRX --- SRV"), std::string::npos) << r.show();
    // Client 127.0.0.1: GET /a 200, GET /b 200, POST /echo 200, GET 404 (origin), GET 503
    // (origin2); client 127.0.0.2: GET /c 200 (origin2).
    EXPECT_EQ(r.number("filter_host_origin2"), 2) << r.show();
    EXPECT_EQ(r.number("filter_status_4xx"), 1) << r.show();
    EXPECT_EQ(r.number("filter_status_503"), 1) << r.show();
    EXPECT_EQ(r.number("filter_status_404_503"), 2) << r.show();
    EXPECT_EQ(r.number("filter_status_2xx"), 4) << r.show();
    EXPECT_EQ(r.number("filter_method_post"), 1) << r.show();
    EXPECT_EQ(r.number("filter_client_2"), 1) << r.show();
    EXPECT_EQ(r.number("filter_client_1_origin_2xx"), 3) << r.show();
    EXPECT_NE(r["filter_address"].find("status=2xx"), std::string::npos) << r.show();
    EXPECT_EQ(r.number("filter_none"), 6) << r.show();
    // Paused: the two new exchanges arrive (counted) but are not shown; resumed: they are.
    EXPECT_EQ(r.number("paused_missed"), 2) << r.show();
    EXPECT_EQ(r.number("paused_blocks"), 6) << r.show();
    EXPECT_EQ(r["pause_button"], "Resume (2 new)") << r.show();
    EXPECT_EQ(r.number("resumed_blocks"), 8) << r.show();
    EXPECT_NE(r["resumed_last"].find("/while-paused/2"), std::string::npos) << r.show();
    EXPECT_EQ(r["secret_in_page"], "0") << r.show();
    EXPECT_TRUE(std::filesystem::exists(shot)) << r.show();
    std::cout << "screenshot: " << shot << "\n";
}

TEST(StatusBrowser, WithJavaScriptOffBothPagesShowTheFiguresAsServed) {
    REQUIRE_BROWSER();
    setup s;
    ASSERT_TRUE(s.ready()) << s.ferry.out() << s.ferry.err();
    // 7 requests before the pages are opened, one with the secrets.
    auto argv_base = without_proxy_environment();
    argv_base.insert(argv_base.end(),
                     {"curl", "-sS", "-o", "/dev/null", "-x", s.ferry.proxy_url()});
    for (int i = 0; i < 7; ++i) {
        auto argv = argv_base;
        if (i == 0)
            argv.insert(argv.end(), {"-H", std::string("Cookie: session=") + secret, "-H",
                                     std::string("Authorization: Bearer ") + secret});
        argv.push_back(s.origin.url(fmt::format("/nojs/{}", i)));
        ASSERT_EQ(run_program(argv, 10s).exit_code(), 0);
    }
    const auto shot = artifact("status-nojs.png");
    const auto r = s.run("nojs", {"shot=" + shot});
    ASSERT_TRUE(r.ok()) << r.show();
    EXPECT_EQ(r["status_scripted"], "0") << r.show();
    EXPECT_GE(r.number("status_tables"), 1) << r.show();
    // The requests figure: "requests" and then 7 (a table's header and cell).
    static const std::regex requests_figure(R"(requests[^0-9]{0,40}?(\d[\d,]*))",
                                            std::regex::icase);
    bool seven = false;
    const auto text = r["status_text"];
    for (std::sregex_iterator it(text.begin(), text.end(), requests_figure), end; it != end; ++it)
        seven = seven || (*it)[1].str() == "7";
    EXPECT_TRUE(seven) << "no 'requests ... 7' in the page's text:\n" << text;
    EXPECT_EQ(r.number("flow_blocks"), 7) << r.show();
    EXPECT_EQ(r["flow_filters_hidden"], "1") << r.show();
    EXPECT_EQ(r["secret_in_page"], "0") << r.show();
    EXPECT_EQ(r["flow_secret_in_page"], "0") << r.show();
    std::cout << "screenshot: " << shot << "\n";
}
