// DNS through the real binary: names are served by a DNS server the test starts on loopback
// (support/test_dns.h), which ferry is pointed at with --dns-server; the machine's resolver
// is never asked about a name outside /etc/hosts. Answers are cached for their TTL, missing
// names for --dns-negative-ttl; a server that never answers costs --dns-timeout and does not
// stop ferry serving others meanwhile; a dead address costs --connect-attempt-timeout when
// another remains. Caches are per worker, so the tests that count queries run one worker.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/test_dns.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::literals;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct timed_response {
    curl_response r;
    double seconds = 0;
};

timed_response fetch(const ferry_process& ferry, const std::string& url, long timeout_ms = 15000) {
    curl_client client;
    auto start = clock_type::now();
    timed_response out;
    out.r = client.perform({.url = url, .proxy = ferry.proxy_url(), .timeout_ms = timeout_ms});
    out.seconds = seconds_since(start);
    return out;
}

std::vector<std::string> with_dns(const test_dns& dns, std::vector<std::string> more = {}) {
    // No pool: a pooled connection to a name needs no lookup, and these tests count lookups.
    std::vector<std::string> args{
        "--dns-server", dns.server_arg(), "--workers", "1", "--pool-per-host", "0"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A name /etc/hosts maps to 127.0.0.1 that ferry does not answer by itself (not localhost),
// or "" when there is none.
std::string name_from_etc_hosts() {
    std::ifstream hosts("/etc/hosts");
    std::string line;
    while (std::getline(hosts, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string address, name;
        if (!(words >> address) || address != "127.0.0.1") continue;
        while (words >> name) {
            if (name == "localhost" || name.ends_with(".localhost") ||
                name.find("localhost") != std::string::npos)
                continue;
            return name;
        }
    }
    return {};
}

// A listener on 127.0.0.2:port whose accept queue is full, so that the kernel drops further
// SYNs and a connect to it neither succeeds nor fails: a dead address.
class black_hole {
public:
    explicit black_hole(int port) {
        listener_ = bind_listener(port);
        if (listener_ < 0) return;
        // backlog 0: the queue holds one connection; a second one to be sure it is full.
        for (int i = 0; i < 2; ++i)
            fillers_.push_back(start_connect(port));
    }
    ~black_hole() {
        for (int fd : fillers_)
            if (fd >= 0) ::close(fd);
        if (listener_ >= 0) ::close(listener_);
    }
    bool ok() const { return listener_ >= 0; }

    // Whether a new connection attempt is still pending after `wait`: the address is dead.
    bool swallows_connects(int port, std::chrono::milliseconds wait) {
        int fd = start_connect(port);
        if (fd < 0) return false;
        pollfd p{fd, POLLOUT, 0};
        int n = ::poll(&p, 1, static_cast<int>(wait.count()));
        ::close(fd);
        return n == 0;
    }

private:
    static sockaddr_in address(int port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET, "127.0.0.2", &addr.sin_addr);
        return addr;
    }
    static int bind_listener(int port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto addr = address(port);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd, 0) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }
    static int start_connect(int port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        auto addr = address(port);
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        // Give the handshake time to land in the accept queue before the next one.
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 200);
        return fd;
    }
    int listener_ = -1;
    std::vector<int> fillers_;
};

} // namespace

TEST(Dns, NameWithAnARecordIsServed) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("www.ferry-test.example", {"127.0.0.1"});
    ferry_process ferry(with_dns(dns, {"--dns-timeout", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, fmt::format("http://www.ferry-test.example:{}/", origin.port()));
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_EQ(t.r.body, "hello\n");
    EXPECT_GT(dns.queries("www.ferry-test.example"), 0);
    EXPECT_EQ(origin.connections(), 1);
    // With a name cached and a lookup still running, ferry shuts down cleanly (and under
    // AddressSanitizer, without a leak).
    dns.set_silent(true);
    auto pending = std::async(std::launch::async, [&] {
        return fetch(ferry, "http://pending.ferry-test.example/", 3000);
    });
    for (int i = 0; i < 200 && dns.queries("pending.ferry-test.example") == 0; ++i)
        std::this_thread::sleep_for(10ms);
    const int status = ferry.stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
    EXPECT_EQ(ferry.err().find("Sanitizer"), std::string::npos) << ferry.err();
    pending.get();
}

TEST(Dns, NameWithOnlyAnAaaaRecordReachesIpv6Origin) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin({}, true);
    dns.set("six.ferry-test.example", {"::1"});
    ferry_process ferry(with_dns(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, fmt::format("http://six.ferry-test.example:{}/", origin.port()));
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_EQ(t.r.body, "hello\n");
    EXPECT_EQ(origin.connections(), 1);
}

TEST(Dns, NameWithBothFamiliesReachesWhicheverOriginListens) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("both.ferry-test.example", {"127.0.0.1", "::1"});
    ferry_process ferry(with_dns(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    {
        test_origin v4;
        auto t = fetch(ferry, fmt::format("http://both.ferry-test.example:{}/", v4.port()));
        ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
        EXPECT_EQ(t.r.status, 200) << t.r.body;
        EXPECT_EQ(v4.connections(), 1);
        EXPECT_LT(t.seconds, 1.0); // ::1 refuses at once: no attempt timeout spent on it
    }
    if (ipv6_loopback_available()) {
        test_origin v6({}, true);
        auto t = fetch(ferry, fmt::format("http://both.ferry-test.example:{}/", v6.port()));
        ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
        EXPECT_EQ(t.r.status, 200) << t.r.body;
        EXPECT_EQ(v6.connections(), 1);
    }
}

TEST(Dns, UnknownNameIsAFast502NamingTheHost) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    ferry_process ferry(with_dns(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, "http://nope.ferry-test.example/page");
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 502);
    EXPECT_EQ(t.r.body, "ferry: cannot resolve nope.ferry-test.example\n");
    EXPECT_LT(t.seconds, 0.5);
    EXPECT_GT(dns.queries("nope.ferry-test.example"), 0);
}

TEST(Dns, SilentServerIs504WithinTheDnsTimeoutAndOthersAreServedMeanwhile) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    test_origin origin;
    // One worker: the other client is served by the very loop that waits for DNS.
    ferry_process ferry(with_dns(dns, {"--dns-timeout", "2"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto stalled = std::async(std::launch::async, [&] {
        return fetch(ferry, fmt::format("http://mute.ferry-test.example:{}/", origin.port()));
    });
    // Once the query has reached the server, ferry is waiting for DNS.
    for (int i = 0; i < 200 && dns.queries("mute.ferry-test.example") == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_GT(dns.queries("mute.ferry-test.example"), 0);
    auto other = fetch(ferry, origin.url("/"));
    EXPECT_EQ(other.r.status, 200);
    EXPECT_LT(other.seconds, 0.5) << "the loop waited for DNS";
    EXPECT_EQ(stalled.wait_for(0s), std::future_status::timeout)
        << "the stalled request should still be waiting";

    auto t = stalled.get();
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 504);
    EXPECT_EQ(t.r.body, "ferry: timed out resolving mute.ferry-test.example\n");
    EXPECT_GT(t.seconds, 1.5);
    EXPECT_LT(t.seconds, 3.0);
}

TEST(Dns, AnswerIsCachedForItsTtl) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("cached.ferry-test.example", {"127.0.0.1"}, 300);
    ferry_process ferry(with_dns(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = fmt::format("http://cached.ferry-test.example:{}/", origin.port());
    EXPECT_EQ(fetch(ferry, url).r.status, 200);
    const int first = dns.queries("cached.ferry-test.example");
    EXPECT_GT(first, 0);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(fetch(ferry, url).r.status, 200); // a new client connection each time
    EXPECT_EQ(dns.queries("cached.ferry-test.example"), first);
}

TEST(Dns, AnswerIsAskedAgainOnceItsTtlHasRunOut) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("brief.ferry-test.example", {"127.0.0.1"}, 1);
    ferry_process ferry(with_dns(dns));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = fmt::format("http://brief.ferry-test.example:{}/", origin.port());
    EXPECT_EQ(fetch(ferry, url).r.status, 200);
    const int first = dns.queries("brief.ferry-test.example");
    EXPECT_GT(first, 0);
    EXPECT_EQ(fetch(ferry, url).r.status, 200); // within the second: from the cache
    EXPECT_EQ(dns.queries("brief.ferry-test.example"), first);
    std::this_thread::sleep_for(1500ms); // the TTL runs out: this wait is what is tested
    EXPECT_EQ(fetch(ferry, url).r.status, 200);
    EXPECT_GT(dns.queries("brief.ferry-test.example"), first);
}

TEST(Dns, UnknownNameIsRememberedForTheNegativeTtl) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    ferry_process ferry(with_dns(dns, {"--dns-negative-ttl", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const std::string url = "http://gone.ferry-test.example/";
    EXPECT_EQ(fetch(ferry, url).r.status, 502);
    const int first = dns.queries("gone.ferry-test.example");
    EXPECT_GT(first, 0);
    auto again = fetch(ferry, url);
    EXPECT_EQ(again.r.status, 502);
    EXPECT_EQ(again.r.body, "ferry: cannot resolve gone.ferry-test.example\n");
    EXPECT_EQ(dns.queries("gone.ferry-test.example"), first);
    // Once the negative TTL has run out, the name is asked again (and now exists).
    test_origin origin;
    dns.set("gone.ferry-test.example", {"127.0.0.1"});
    std::this_thread::sleep_for(1500ms);
    auto back = fetch(ferry, fmt::format("http://gone.ferry-test.example:{}/", origin.port()));
    EXPECT_EQ(back.r.status, 200) << back.r.body;
    EXPECT_GT(dns.queries("gone.ferry-test.example"), first);
}

TEST(Dns, LocalhostAndLiteralsNeedNoDns) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    test_origin origin;
    ferry_process ferry(with_dns(dns, {"--dns-timeout", "5"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, fmt::format("http://localhost:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_LT(t.seconds, 1.0);
    if (ipv6_loopback_available()) {
        test_origin v6({}, true);
        auto t6 = fetch(ferry, fmt::format("http://[::1]:{}/", v6.port()));
        EXPECT_EQ(t6.r.status, 200) << t6.r.body;
        EXPECT_EQ(v6.connections(), 1);
    }
    EXPECT_EQ(dns.total_queries(), 0);
}

TEST(Dns, EtcHostsIsReadBeforeDns) {
    const auto name = name_from_etc_hosts();
    if (name.empty()) GTEST_SKIP() << "/etc/hosts maps no name but localhost to 127.0.0.1";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    test_origin origin;
    ferry_process ferry(with_dns(dns, {"--dns-timeout", "5"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, fmt::format("http://{}:{}/", name, origin.port()));
    EXPECT_EQ(t.r.status, 200) << name << ": " << t.r.body;
    EXPECT_LT(t.seconds, 1.0);
    EXPECT_EQ(dns.queries(name), 0);
}

TEST(Dns, DeadAddressCostsTheAttemptTimeoutNotTheConnectTimeout) {
    test_origin origin;
    black_hole dead(origin.port());
    if (!dead.ok()) GTEST_SKIP() << "cannot listen on 127.0.0.2";
    if (!dead.swallows_connects(origin.port(), 500ms))
        GTEST_SKIP() << "this kernel does not leave a connect to a full listener pending";
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set("flaky.ferry-test.example", {"127.0.0.2", "127.0.0.1"});
    dns.set("dead.ferry-test.example", {"127.0.0.2"});
    // A Happy Eyeballs delay longer than the attempt timeout: the next address starts when
    // the dead one is given up.
    ferry_process ferry(with_dns(dns, {"--connect-attempt-timeout", "1", "--connect-timeout", "4",
                                       "--happy-eyeballs-delay", "3"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto t = fetch(ferry, fmt::format("http://flaky.ferry-test.example:{}/", origin.port()));
    ASSERT_EQ(t.r.code, CURLE_OK) << curl_easy_strerror(t.r.code);
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_GT(t.seconds, 0.7); // the dead address was tried first, and given its second
    EXPECT_LT(t.seconds, 2.0); // but not the 4 s of the connect timeout
    EXPECT_EQ(origin.connections(), 1);

    // The dead address alone: the attempt is the last one and gets the whole timeout.
    auto d = fetch(ferry, fmt::format("http://dead.ferry-test.example:{}/", origin.port()));
    ASSERT_EQ(d.r.code, CURLE_OK) << curl_easy_strerror(d.r.code);
    EXPECT_EQ(d.r.status, 504);
    EXPECT_EQ(d.r.body, fmt::format("ferry: timed out connecting to dead.ferry-test.example:{}\n",
                                    origin.port()));
    EXPECT_GT(d.seconds, 3.5);
    EXPECT_LT(d.seconds, 5.0);
}

TEST(Dns, LookupsOfOneNameAtOnceShareOneQuery) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    dns.set_silent(true);
    ferry_process ferry(with_dns(dns, {"--dns-timeout", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // What one lookup costs the server (both families, every try).
    EXPECT_EQ(fetch(ferry, "http://alone.ferry-test.example/").r.status, 504);
    const int one_lookup = dns.queries("alone.ferry-test.example");
    ASSERT_GT(one_lookup, 0);

    auto first = std::async(std::launch::async,
                            [&] { return fetch(ferry, "http://shared.ferry-test.example/"); });
    for (int i = 0; i < 200 && dns.queries("shared.ferry-test.example") == 0; ++i)
        std::this_thread::sleep_for(10ms);
    auto second = fetch(ferry, "http://shared.ferry-test.example/other");
    EXPECT_EQ(first.get().r.status, 504);
    EXPECT_EQ(second.r.status, 504);
    EXPECT_EQ(dns.queries("shared.ferry-test.example"), one_lookup);
}

TEST(Dns, AnswerArrivingAfterTheClientGaveUpIsStillCached) {
    test_dns dns;
    ASSERT_TRUE(dns.ok());
    test_origin origin;
    dns.set("late.ferry-test.example", {"127.0.0.1"}, 300);
    dns.set_delay("late.ferry-test.example", 1500ms);
    // The connect timeout cancels the lookup at 1 s; the answer comes at 1.5 s, before
    // c-ares would ask again (at a third of the DNS timeout).
    ferry_process ferry(with_dns(dns, {"--connect-timeout", "1", "--dns-timeout", "6"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto url = fmt::format("http://late.ferry-test.example:{}/", origin.port());
    auto t = fetch(ferry, url);
    EXPECT_EQ(t.r.status, 504);
    EXPECT_EQ(t.r.body, "ferry: timed out resolving late.ferry-test.example\n");
    EXPECT_LT(t.seconds, 1.4);
    const int asked = dns.queries("late.ferry-test.example");
    EXPECT_GT(asked, 0);
    std::this_thread::sleep_for(1s); // the delayed answer arrives meanwhile
    auto again = fetch(ferry, url);
    EXPECT_EQ(again.r.status, 200) << again.r.body;
    EXPECT_LT(again.seconds, 0.5);
    EXPECT_EQ(dns.queries("late.ferry-test.example"), asked);
}

TEST(Dns, NextServerIsAskedWhenTheFirstIsSilent) {
    test_dns mute, good;
    ASSERT_TRUE(mute.ok());
    ASSERT_TRUE(good.ok());
    mute.set_silent(true);
    good.set("second.ferry-test.example", {"127.0.0.1"});
    test_origin origin;
    ferry_process ferry({"--dns-server", mute.server_arg(), "--dns-server", good.server_arg(),
                         "--dns-timeout", "3", "--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto t = fetch(ferry, fmt::format("http://second.ferry-test.example:{}/", origin.port()));
    EXPECT_EQ(t.r.status, 200) << t.r.body;
    EXPECT_GT(mute.queries("second.ferry-test.example"), 0);
    EXPECT_GT(good.queries("second.ferry-test.example"), 0);
    EXPECT_LT(t.seconds, 2.5); // one try's worth (a third of the DNS timeout) on the first
}
