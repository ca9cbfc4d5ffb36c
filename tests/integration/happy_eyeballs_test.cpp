// Happy Eyeballs (RFC 8305) through the real binary. A dead address is a listener on [::1]
// whose accept queue is full, so the kernel drops further SYNs and a connect to it neither
// succeeds nor fails; the origin is served on 127.0.0.1 at the same port, and a name from
// the test's DNS server (or `localhost`) gives both, IPv6 first. With a 30 s attempt
// timeout, the dead IPv6 path costs the Happy Eyeballs delay, not 30 s.
#include "support/curl_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/temp_file.h"
#include "support/test_dns.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace ferry_test;
using namespace std::literals;

namespace {

using clock_type = std::chrono::steady_clock;

struct timed_response {
    curl_response r;
    double seconds = 0;
};

timed_response fetch(const ferry_process& ferry, const std::string& url) {
    curl_client client;
    const auto start = clock_type::now();
    timed_response out;
    out.r = client.perform({.url = url, .proxy = ferry.proxy_url(), .timeout_ms = 40000});
    out.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    return out;
}

std::vector<std::string> ferry_args(const test_dns& dns, std::vector<std::string> more = {}) {
    // No pool: every request opens a new upstream connection, so every request races.
    std::vector<std::string> args{"--dns-server",
                                  dns.server_arg(),
                                  "--workers",
                                  "1",
                                  "--pool-per-host",
                                  "0",
                                  "--access-log-format",
                                  "squid",
                                  "--connect-attempt-timeout",
                                  "30"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

int open_fds(pid_t pid) {
    int n = 0;
    if (DIR* d = ::opendir(fmt::format("/proc/{}/fd", pid).c_str())) {
        while (::readdir(d))
            ++n;
        ::closedir(d);
    }
    return n;
}

// ferry's descriptors once the last exchange's connections are gone.
int settled_fds(pid_t pid) {
    std::this_thread::sleep_for(300ms);
    return open_fds(pid);
}

// A listening socket on IP:port, never accepting (V6ONLY for IPv6); -1 when it cannot bind.
int listen_on(const std::string& ip, int port, int backlog) {
    sockaddr_storage s{};
    socklen_t len = 0;
    const bool v6 = ip.find(':') != std::string::npos;
    if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&s);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&s);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
        len = sizeof *a;
    }
    int fd = ::socket(s.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&s), len) != 0 || ::listen(fd, backlog) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Whether a connection waits in `listener`'s accept queue.
bool has_connection(int listener) {
    pollfd p{listener, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

// IP:port with a full accept queue: connects to it stay pending (ok() says it is so here).
class dead_address {
public:
    dead_address(const std::string& ip, int port) : ip_(ip), port_(port) {
        listener_ = listen_on(ip, port, 0);
        if (listener_ < 0) return;
        for (int i = 0; i < 2; ++i) // backlog 0 holds one; a second to be sure
            fillers_.push_back(start_connect(200ms).first);
        auto [probe, answered] = start_connect(300ms);
        ::close(probe);
        swallows_ = !answered;
    }
    ~dead_address() {
        for (int fd : fillers_)
            ::close(fd);
        if (listener_ >= 0) ::close(listener_);
    }
    bool ok() const { return listener_ >= 0 && swallows_; }

private:
    std::pair<int, bool> start_connect(std::chrono::milliseconds wait) {
        const bool v6 = ip_.find(':') != std::string::npos;
        sockaddr_storage s{};
        socklen_t len = 0;
        if (v6) {
            auto* a = reinterpret_cast<sockaddr_in6*>(&s);
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(static_cast<std::uint16_t>(port_));
            inet_pton(AF_INET6, ip_.c_str(), &a->sin6_addr);
            len = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in*>(&s);
            a->sin_family = AF_INET;
            a->sin_port = htons(static_cast<std::uint16_t>(port_));
            inet_pton(AF_INET, ip_.c_str(), &a->sin_addr);
            len = sizeof *a;
        }
        int fd = ::socket(s.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ::connect(fd, reinterpret_cast<sockaddr*>(&s), len);
        pollfd p{fd, POLLOUT, 0};
        const bool answered = ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
        return {fd, answered};
    }
    std::string ip_;
    int port_;
    int listener_ = -1;
    bool swallows_ = false;
    std::vector<int> fillers_;
};

} // namespace

TEST(HappyEyeballs, ADeadIpv6PathCostsTheDelayNotTheAttemptTimeout) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 here";
    test_origin origin; // 127.0.0.1:P
    dead_address dead("::1", origin.port());
    if (!dead.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("both.ferry-test.example", {"::1", "127.0.0.1"});
    ferry_process ferry(ferry_args(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto url = fmt::format("http://both.ferry-test.example:{}/", origin.port());
    auto t = fetch(ferry, url);
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_GT(t.seconds, 0.2); // IPv6 went first, and had its 250 ms
    EXPECT_LT(t.seconds, 5.0); // not the 30 s of the attempt timeout
    EXPECT_EQ(origin.connections(), 1);
    EXPECT_TRUE(eventually([&] {
        return ferry.out().find("HIER_DIRECT/127.0.0.1") != std::string::npos;
    })) << ferry.out();

    // The IPv6 attempt that lost is closed, not left pending: ferry's descriptors come back
    // to their level after each such request (the second one needs no DNS query).
    ASSERT_TRUE(origin.wait_closed(1));
    const int level = settled_fds(ferry.pid());
    t = fetch(ferry, url);
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_LT(t.seconds, 5.0);
    EXPECT_TRUE(eventually([&] { return open_fds(ferry.pid()) == level; }))
        << open_fds(ferry.pid()) << " descriptors, " << level << " before";

    // A shorter delay makes the dead path cheaper still; localhost (::1, then 127.0.0.1,
    // without DNS) races the same way.
    ferry_process quick(ferry_args(dns, {"--happy-eyeballs-delay", "0.05"}));
    ASSERT_TRUE(quick.started()) << quick.err();
    t = fetch(quick, fmt::format("http://localhost:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_LT(t.seconds, 2.0);
    EXPECT_TRUE(eventually([&] {
        return quick.out().find("HIER_DIRECT/127.0.0.1") != std::string::npos;
    })) << quick.out();
}

TEST(HappyEyeballs, BothFamiliesServedIpv6Wins) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 here";
    test_origin origin({}, true); // [::1]:P
    const int v4 = listen_on("127.0.0.1", origin.port(), 16);
    if (v4 < 0) GTEST_SKIP() << "127.0.0.1 at the origin's port is taken";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("both.ferry-test.example", {"127.0.0.1", "::1"}); // A first: the order is ferry's
    ferry_process ferry(ferry_args(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto t = fetch(ferry, fmt::format("http://both.ferry-test.example:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_EQ(origin.connections(), 1);
    EXPECT_FALSE(has_connection(v4)); // IPv4 was never tried
    EXPECT_TRUE(eventually([&] {
        return ferry.out().find("HIER_DIRECT/::1") != std::string::npos;
    })) << ferry.out();
    ::close(v4);
}

TEST(HappyEyeballs, OnlyDeadAddressesTimeOutAndLeaveNoSocketOpen) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 here";
    const int port = unused_port();
    dead_address v6("::1", port);
    if (!v6.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
    dead_address v4("127.0.0.1", port);
    if (!v4.ok()) GTEST_SKIP() << "127.0.0.1:" << port << " was taken meanwhile";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("dead.ferry-test.example", {"::1", "127.0.0.1"});
    ferry_process ferry(ferry_args(dns, {"--connect-timeout", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    const auto url = fmt::format("http://dead.ferry-test.example:{}/", port);
    auto t = fetch(ferry, url);
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 504);
    EXPECT_EQ(t.r.body,
              fmt::format("ferry: timed out connecting to dead.ferry-test.example:{}\n", port));
    EXPECT_GT(t.seconds, 0.7);
    EXPECT_LT(t.seconds, 3.0); // the connect timeout, give or take the ticker

    // Both attempts were closed when the deadline ended the race.
    const int level = settled_fds(ferry.pid());
    t = fetch(ferry, url);
    EXPECT_EQ(t.r.status, 504);
    EXPECT_TRUE(eventually([&] { return open_fds(ferry.pid()) == level; }))
        << open_fds(ferry.pid()) << " descriptors, " << level << " before";
}

// Every address is judged before the first attempt: a denied one is left out of the race
// (never connected to, wherever it stands in the list), and when every one is denied the
// first refusal, in the order ferry would try them, is the answer.
TEST(HappyEyeballs, DeniedAddressesAreLeftOutAndNoneLeftIsTheFirstRefusal) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 here";
    test_origin origin; // 127.0.0.1:P
    const int v6 = listen_on("::1", origin.port(), 16);
    if (v6 < 0) GTEST_SKIP() << "[::1] at the origin's port is taken";
    temp_file v6_denied("[[acl]]\naction = \"deny\"\nname = \"no-v6\"\ndest = [\"::1/128\"]\n"
                        "[[acl]]\naction = \"allow\"\n");
    ferry_process ferry({"--config", v6_denied.path(), "--pool-per-host", "0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // ::1 is denied: only 127.0.0.1 races, and wins.
    auto t = fetch(ferry, fmt::format("http://localhost:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_EQ(origin.connections(), 1);
    EXPECT_FALSE(has_connection(v6));

    // Both denied: the refusal of ::1, the first ferry would have tried.
    temp_file both_denied("[[acl]]\naction = \"deny\"\nname = \"no-loopback\"\n"
                          "dest = [\"127.0.0.0/8\", \"::1/128\"]\n"
                          "[[acl]]\naction = \"allow\"\n");
    ferry_process strict({"--config", both_denied.path(), "--pool-per-host", "0"});
    ASSERT_TRUE(strict.started()) << strict.err();
    t = fetch(strict, fmt::format("http://localhost:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 403);
    EXPECT_EQ(t.r.body, "ferry: denied by access rule 1 (\"no-loopback\") (localhost is ::1)\n");
    EXPECT_EQ(origin.connections(), 1);
    EXPECT_FALSE(has_connection(v6));
    ::close(v6);
}
