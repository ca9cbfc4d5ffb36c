// Proxy authentication (issue 4, part 3): Basic credentials in Proxy-Authorization checked
// against an htpasswd file whose hashes the real tools made at test time (htpasswd for
// Apache MD5 and bcrypt, openssl passwd for SHA-crypt). curl with --proxy-user, raw sockets
// for what curl would never send, CONNECT, the 407 challenge, the failure lines on stderr,
// and bcrypt's cost kept off the event loop.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <regex>
#include <unistd.h>

using namespace ferry_test;
using clock_type = std::chrono::steady_clock;

namespace {

// An htpasswd file in /tmp, removed at the end of the test.
class temp_file {
public:
    explicit temp_file(const std::string& text) {
        char name[] = "/tmp/ferry-auth-XXXXXX";
        int fd = ::mkstemp(name);
        if (fd >= 0) ::close(fd);
        path_ = name;
        std::ofstream(path_) << text;
    }
    ~temp_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Users with each format, made once by the installed tools.
const std::string& htpasswd_text() {
    static const std::string text = [] {
        std::string t = "# made by the tests\n";
        t += shell_output("htpasswd -nbm alice apr1-pass") + "\n";
        t += shell_output("htpasswd -nbB -C 4 bob 'bcrypt pass'") + "\n";
        t += "carol:" + shell_output("openssl passwd -5 'sha:256'") + "\n";
        t += "dave:" + shell_output("openssl passwd -6 sha512-pass") + "\n";
        // Cost 12: a fraction of a second of one core, on purpose.
        t += shell_output("htpasswd -nbB -C 12 slow slow-pass") + "\n";
        return t;
    }();
    return text;
}

bool tools_present() {
    return !shell_output("command -v htpasswd").empty() &&
           !shell_output("command -v openssl").empty();
}

std::string basic(const std::string& userpass) {
    // base64 by the shell's coreutils, so that the test does not trust ferry's encoder.
    return shell_output("printf '%s' '" + userpass + "' | base64 -w0");
}

std::string get_head(const std::string& url, const std::string& extra = "") {
    return "GET " + url + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

// Waits until ferry's stderr matches `pattern` (bounded).
bool wait_for_err(const ferry_process& ferry, const std::regex& pattern,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto until = clock_type::now() + timeout;
    for (;;) {
        if (std::regex_search(ferry.err(), pattern)) return true;
        if (clock_type::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

class Auth : public ::testing::Test {
protected:
    void SetUp() override {
        if (!tools_present()) GTEST_SKIP() << "htpasswd (apache2-utils) or openssl missing";
        ASSERT_NE(htpasswd_text().find("slow:$2y$12$"), std::string::npos) << htpasswd_text();
        file_ = std::make_unique<temp_file>(htpasswd_text());
    }
    std::vector<std::string> args(std::vector<std::string> more = {}) const {
        std::vector<std::string> a{"--htpasswd", file_->path()};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    }
    std::unique_ptr<temp_file> file_;
};

} // namespace

TEST_F(Auth, EachHashFormatLetsItsUserThroughAndTheCredentialsStayWithFerry) {
    test_origin origin;
    ferry_process ferry(args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (std::string user :
         {"alice:apr1-pass", "bob:bcrypt pass", "carol:sha:256", "dave:sha512-pass"}) {
        curl_client client;
        auto r = client.perform(
            {.url = origin.url("/headers"), .proxy = ferry.proxy_url(), .proxy_user = user});
        ASSERT_EQ(r.code, CURLE_OK) << user;
        EXPECT_EQ(r.status, 200) << user << "\n" << r.headers << r.body;
        auto name = user.substr(0, user.find(':'));
        EXPECT_FALSE(wait_for_line(ferry, {" GET ", "/headers", "user=\"" + name + "\""}).empty())
            << user << "\n"
            << ferry.out();
        // What the origin saw: no Proxy-Authorization of any case.
        std::string seen = r.body;
        std::transform(seen.begin(), seen.end(), seen.begin(), ::tolower);
        EXPECT_EQ(seen.find("proxy-authorization"), std::string::npos) << r.body;
    }
    EXPECT_EQ(ferry.err().find("auth failed"), std::string::npos) << ferry.err();
}

TEST_F(Auth, MissingWrongAndUnknownCredentialsGet407WithTheRealm) {
    test_origin origin;
    ferry_process ferry(args({"--auth-realm", "team proxy"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    struct attempt {
        std::string user;
        std::string body;
    };
    for (const attempt& a :
         {attempt{"", "ferry: proxy authentication required\n"},
          attempt{"alice:wrong", "ferry: proxy authentication failed\n"},
          attempt{"bob:bcrypt Pass", "ferry: proxy authentication failed\n"},
          attempt{"mallory:apr1-pass", "ferry: proxy authentication failed\n"}}) {
        curl_client client;
        auto r = client.perform(
            {.url = origin.url("/"), .proxy = ferry.proxy_url(), .proxy_user = a.user});
        ASSERT_EQ(r.code, CURLE_OK) << a.user;
        EXPECT_EQ(r.status, 407) << a.user << "\n" << r.headers;
        EXPECT_EQ(header_value(r.headers, "Proxy-Authenticate"), "Basic realm=\"team proxy\"")
            << r.headers;
        EXPECT_EQ(r.body, a.body);
    }
    EXPECT_EQ(origin.connections(), 0);
    const std::string from = R"( from 127\.0\.0\.1:\d+ )";
    EXPECT_TRUE(wait_for_err(ferry, std::regex(R"(ferry: auth failed for user "alice")" + from +
                                               R"(\(wrong password\)\n)")))
        << ferry.err();
    EXPECT_TRUE(wait_for_err(ferry, std::regex(R"(ferry: auth failed for user "bob")" + from +
                                               R"(\(wrong password\)\n)")))
        << ferry.err();
    EXPECT_TRUE(wait_for_err(ferry, std::regex(R"(ferry: auth failed for user "mallory")" + from +
                                               R"(\(unknown user\)\n)")))
        << ferry.err();
    // A request without credentials is how browsers start: not a failure worth a line.
    auto lines = lines_of(ferry.err());
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [](const std::string& l) { return l.find("auth failed") != l.npos; }),
              3)
        << ferry.err();
    EXPECT_FALSE(wait_for_line(ferry, {" 407 ", "proxy authentication required"}).empty())
        << ferry.out();
}

TEST_F(Auth, MalformedHeadersGet407AndTheConnectionStaysUsable) {
    test_origin origin;
    ferry_process ferry(args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    const std::string url = origin.url("/");
    struct bad {
        std::string field;
        std::string reason;
    };
    const std::vector<bad> cases{
        {"Proxy-Authorization: Basic !!!!\r\n", "bad base64"},
        {"Proxy-Authorization: Basic " + basic("no-colon") + "\r\n", "no colon"},
        {"Proxy-Authorization: Basic " + basic(":apr1-pass") + "\r\n", "empty user name"},
        {"Proxy-Authorization: Basic " + std::string(8192, 'A') + "\r\n", "too long"},
        {"Proxy-Authorization: Bearer abc\r\n", "not the Basic scheme"},
        {"Proxy-Authorization: Basic\r\n", "no credentials"},
        {"Proxy-Authorization: Basic " + basic("alice:apr1-pass") +
             "\r\nProxy-Authorization: Basic " + basic("bob:x") + "\r\n",
         "several Proxy-Authorization fields"},
    };
    for (const auto& c : cases) {
        ASSERT_TRUE(s.send_all(get_head(url, c.field))) << c.reason;
        auto response = s.read_response();
        ASSERT_EQ(status_of(response), 407) << c.reason << "\n" << printable(response);
        EXPECT_EQ(header_value(head_of(response), "Proxy-Authenticate"), "Basic realm=\"ferry\"");
        EXPECT_NE(body_of(response).find(c.reason), std::string_view::npos) << printable(response);
        EXPECT_EQ(header_value(head_of(response), "Connection"), "") << "kept open after a 407";
    }
    // The same connection, now with good credentials.
    auto good = get_head(url, "Proxy-Authorization: basic " + basic("alice:apr1-pass") + "\r\n");
    ASSERT_TRUE(s.send_all(good));
    auto response = s.read_response();
    EXPECT_EQ(status_of(response), 200) << printable(response);
    EXPECT_EQ(body_of(response), "hello\n");
    EXPECT_TRUE(wait_for_err(ferry, std::regex(R"(auth failed for user "-" from 127\.0\.0\.1:\d+ )"
                                               R"(\(malformed credentials: bad base64\))")))
        << ferry.err();
    EXPECT_TRUE(ferry.running());
}

TEST_F(Auth, A407ToARequestWithABodyClosesTheConnection) {
    test_origin origin;
    ferry_process ferry(args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("POST " + origin.url("/echo") +
                           " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
    auto response = s.read_response();
    EXPECT_EQ(status_of(response), 407) << printable(response);
    EXPECT_EQ(header_value(head_of(response), "Connection"), "close");
    EXPECT_TRUE(s.peer_closed());
}

TEST_F(Auth, ConnectNeedsCredentialsToo) {
    test_origin origin;
    ferry_process ferry(args({"--connect-ports", "any"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto authority = origin.authority();
    const std::string connect = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    {
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.send_all(connect + "\r\n"));
        auto response = s.read_response();
        EXPECT_EQ(status_of(response), 407) << printable(response);
        EXPECT_EQ(header_value(head_of(response), "Proxy-Authenticate"), "Basic realm=\"ferry\"");
        // Then the same connection with credentials: the tunnel opens.
        ASSERT_TRUE(s.send_all(connect + "Proxy-Authorization: Basic " + basic("dave:sha512-pass") +
                               "\r\n\r\n"));
        auto established = s.read_until("\r\n\r\n");
        EXPECT_EQ(status_of(established), 200) << printable(established);
        ASSERT_TRUE(s.send_all("GET / HTTP/1.1\r\nHost: " + authority + "\r\n\r\n"));
        auto through = s.read_response();
        EXPECT_EQ(status_of(through), 200) << printable(through);
        EXPECT_EQ(body_of(through), "hello\n");
    }
    curl_client client;
    auto r = client.perform({.url = origin.url("/size/1000"),
                             .proxy = ferry.proxy_url(),
                             .tunnel = true,
                             .proxy_user = "bob:bcrypt pass"});
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, 1000u);
    r = client.perform({.url = origin.url("/"),
                        .proxy = ferry.proxy_url(),
                        .tunnel = true,
                        .proxy_user = "bob:nope"});
    EXPECT_NE(r.code, CURLE_OK) << "curl fails a CONNECT answered 407";
    EXPECT_TRUE(
        wait_for_err(ferry, std::regex(R"(auth failed for user "bob" .*\(wrong password\))")))
        << ferry.err();
    EXPECT_EQ(origin.connections(), 2) << "only the two authenticated tunnels reached it";
}

TEST_F(Auth, SlowBcryptDoesNotStallOtherClients) {
    test_origin origin;
    // One worker: the slow check and the other clients share one event loop.
    ferry_process ferry(args({"--workers", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    std::atomic<bool> slow_done{false};
    const auto slow_start = clock_type::now();
    auto slow = std::async(std::launch::async, [&] {
        curl_client client;
        auto r = client.perform(
            {.url = origin.url("/"), .proxy = ferry.proxy_url(), .proxy_user = "slow:slow-pass"});
        slow_done = true;
        return r;
    });
    // Meanwhile, other clients: one with an Apache MD5 user, one with no credentials.
    std::vector<double> latencies;
    curl_client fast, anonymous;
    const auto give_up = clock_type::now() + std::chrono::seconds(30);
    while (!slow_done && clock_type::now() < give_up && latencies.size() < 2000) {
        auto start = clock_type::now();
        auto r = fast.perform(
            {.url = origin.url("/"), .proxy = ferry.proxy_url(), .proxy_user = "alice:apr1-pass"});
        ASSERT_EQ(r.status, 200);
        auto a = anonymous.perform({.url = origin.url("/"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(a.status, 407);
        if (!slow_done) latencies.push_back(ms_since(start));
    }
    auto r = slow.get();
    const double slow_ms = ms_since(slow_start);
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    ASSERT_FALSE(latencies.empty());
    const double worst = *std::max_element(latencies.begin(), latencies.end());
    // Had the bcrypt run on the loop, some pair would have waited about as long as it took.
    EXPECT_GE(latencies.size(), 3u)
        << "pairs served while bcrypt ran; it took " << slow_ms << " ms";
    EXPECT_LT(worst, slow_ms / 2) << "slowest pair " << worst << " ms while bcrypt took " << slow_ms
                                  << " ms";
    std::printf("[ measured ] bcrypt cost 12 request: %.1f ms; %zu other pairs meanwhile, "
                "slowest %.1f ms\n",
                slow_ms, latencies.size(), worst);
}

TEST_F(Auth, SuccessfulChecksAreCachedSoTheNextRequestIsFast) {
    test_origin origin;
    ferry_process ferry(args({"--workers", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto timed = [&](const std::string& user) {
        curl_client client; // a new connection each time
        auto start = clock_type::now();
        auto r = client.perform(
            {.url = origin.url("/"), .proxy = ferry.proxy_url(), .proxy_user = user});
        return std::make_pair(r.status, ms_since(start));
    };
    auto [s1, first] = timed("slow:slow-pass");
    auto [s2, second] = timed("slow:slow-pass");
    EXPECT_EQ(s1, 200);
    EXPECT_EQ(s2, 200);
    EXPECT_LT(second, first / 4) << "first " << first << " ms, second " << second << " ms";
    std::printf("[ measured ] bcrypt cost 12: first request %.1f ms, cached %.1f ms\n", first,
                second);
    // Only the right password is remembered.
    auto [s3, wrong] = timed("slow:slow-pasS");
    EXPECT_EQ(s3, 407);
    (void)wrong;
}

TEST_F(Auth, StatusPageNeedsNoCredentials) {
    ferry_process ferry(args());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    auto r = client.perform({.url = ferry.proxy_url() + "/"});
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST(AuthStartup, ABadHtpasswdLineExitsWith2NamingFileAndLine) {
    temp_file file("alice:$apr1$JlksSBS6$RdJvfdxTU5u/LHwAz0Vp6.\n# "
                   "comment\nbob:{SHA}lcsL/Sl3x2EpjZYk5LTUxyo5l0o=\n");
    auto r = run_ferry({"0", "--htpasswd", file.path()});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(
        r.err.find("ferry: " + file.path() + ":3: unsupported password format for user \"bob\""),
        std::string::npos)
        << r.err;
    EXPECT_EQ(r.out.find("Starting proxy server"), std::string::npos) << r.out;
}

TEST(AuthStartup, AMissingHtpasswdFileExitsWith2) {
    auto r = run_ferry({"0", "--htpasswd", "/nonexistent/ferry/htpasswd"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/ferry/htpasswd: No such file or directory"),
              std::string::npos)
        << r.err;
}

TEST(AuthStartup, ARealmWithControlCharactersIsRefused) {
    auto r = run_ferry({"0", "--htpasswd", "/dev/null", "--auth-realm", "a\r\nX-Injected: 1"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("--auth-realm"), std::string::npos) << r.err;
}
