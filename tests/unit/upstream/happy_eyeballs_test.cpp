// race_addresses on real loopback sockets: a dead address (a listener whose accept queue is
// full, so the kernel drops further SYNs) costs the Happy Eyeballs delay, not the attempt
// timeout; the winner becomes the stream's socket; every loser, and every attempt of a race
// that was cancelled or ran out of time, is closed before the race returns.
#include "upstream/happy_eyeballs.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::upstream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d))
            ++n;
        ::closedir(d);
    }
    return n;
}

sockaddr_storage socket_address(const char* ip, int port, socklen_t& len) {
    sockaddr_storage s{};
    if (std::string_view(ip).find(':') != std::string_view::npos) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&s);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&s);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET, ip, &a->sin_addr);
        len = sizeof *a;
    }
    return s;
}

// A listening socket on ip:port (port 0: any), never accepting; -1 when it cannot bind.
int listen_on(const char* ip, int port, int backlog) {
    socklen_t len = 0;
    auto addr = socket_address(ip, port, len);
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, backlog) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int port_of(int fd) {
    sockaddr_storage s{};
    socklen_t len = sizeof s;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len);
    if (s.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&s)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port);
}

// A non-blocking connect to ip:port; true in `answered` when it completed within `wait`.
int start_connect(const char* ip, int port, std::chrono::milliseconds wait, bool& answered) {
    socklen_t len = 0;
    auto addr = socket_address(ip, port, len);
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
    pollfd p{fd, POLLOUT, 0};
    answered = ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
    return fd;
}

// ip:port with a full accept queue: a connect to it stays pending (SYNs dropped).
class dead_address {
public:
    dead_address(const char* ip, int port) : ip_(ip) {
        listener_ = listen_on(ip, port, 0);
        if (listener_ < 0) return;
        bool answered = false;
        for (int i = 0; i < 2; ++i) // backlog 0 holds one; a second to be sure
            fillers_.push_back(start_connect(ip, this->port(), 200ms, answered));
        int probe = start_connect(ip, this->port(), 300ms, answered);
        ::close(probe);
        swallows_ = !answered;
    }
    ~dead_address() {
        for (int fd : fillers_)
            ::close(fd);
        if (listener_ >= 0) ::close(listener_);
    }
    bool ok() const { return listener_ >= 0 && swallows_; }
    int port() const { return port_of(listener_); }

private:
    std::string ip_;
    int listener_ = -1;
    bool swallows_ = false;
    std::vector<int> fillers_;
};

// Whether a connection is waiting in `listener`'s accept queue.
bool has_connection(int listener) {
    pollfd p{listener, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

struct fixture {
    asio::io_context io;
    net::steady_time clock = clock_type::now();
    net::deadline_list deadlines;
    net::tcp_stream stream{io, clock, &deadlines};
    race_outcome outcome;
    bool done = false;

    void start(std::vector<const char*> ips, int port, race_timing timing) {
        std::vector<asio::ip::address> addresses;
        for (const char* ip : ips)
            addresses.push_back(asio::ip::make_address(ip));
        stream.writing.arm_at(clock + 60s);
        asio::co_spawn(
            io,
            [this, addresses, port, timing]() -> asio::awaitable<void> {
                outcome = co_await race_addresses(stream, addresses,
                                                  static_cast<std::uint16_t>(port), timing);
                done = true;
            },
            asio::detached);
    }
    // Runs the loop until the race ends (at most `limit`); the time it took.
    clock_type::duration run(std::chrono::milliseconds limit = 5s) {
        const auto t = clock_type::now();
        while (!done && clock_type::now() - t < limit) {
            io.restart();
            io.run_for(5ms);
        }
        return clock_type::now() - t;
    }
    std::string peer() {
        boost::system::error_code ec;
        return stream.socket().remote_endpoint(ec).address().to_string();
    }
};

bool have_ipv6() {
    int fd = listen_on("::1", 0, 1);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// A dead ::1 and a served 127.0.0.1 on one port.
struct half_dead {
    std::unique_ptr<dead_address> dead;
    int served = -1;
    int port = 0;
    half_dead() {
        for (int i = 0; i < 20 && served < 0; ++i) {
            dead = std::make_unique<dead_address>("::1", 0);
            if (!dead->ok()) return;
            port = dead->port();
            served = listen_on("127.0.0.1", port, 16);
        }
    }
    ~half_dead() {
        if (served >= 0) ::close(served);
    }
    bool ok() const { return served >= 0; }
};

TEST(HappyEyeballsRace, ADeadAddressCostsTheDelayNotTheAttemptTimeout) {
    if (!have_ipv6()) GTEST_SKIP() << "no ::1 here";
    const int fds = open_fds();
    {
        half_dead h;
        if (!h.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
        fixture f;
        f.start({"::1", "127.0.0.1"}, h.port, {.delay = 100ms, .attempt_timeout = 30s});
        const auto took = f.run();
        ASSERT_TRUE(f.done);
        EXPECT_FALSE(f.outcome.last) << f.outcome.last.message();
        EXPECT_EQ(f.peer(), "127.0.0.1"); // the winner is the stream's socket
        EXPECT_GE(took, 90ms);            // the IPv6 attempt had its delay first
        EXPECT_LT(took, 2s);              // and not its 30 s
        EXPECT_TRUE(has_connection(h.served));
    }
    EXPECT_EQ(open_fds(), fds); // the cancelled IPv6 attempt was closed
}

TEST(HappyEyeballsRace, BothFamiliesServedIpv6Wins) {
    if (!have_ipv6()) GTEST_SKIP() << "no ::1 here";
    int v6 = -1, v4 = -1;
    for (int i = 0; i < 20 && v4 < 0; ++i) {
        if (v6 >= 0) ::close(v6);
        v6 = listen_on("::1", 0, 16);
        ASSERT_GE(v6, 0);
        v4 = listen_on("127.0.0.1", port_of(v6), 16);
    }
    ASSERT_GE(v4, 0);
    fixture f;
    f.start({"::1", "127.0.0.1"}, port_of(v6), {});
    f.run();
    ASSERT_TRUE(f.done);
    EXPECT_FALSE(f.outcome.last);
    EXPECT_EQ(f.peer(), "::1");
    EXPECT_TRUE(has_connection(v6));
    EXPECT_FALSE(has_connection(v4)); // never started: IPv6 won within the delay
    ::close(v6);
    ::close(v4);
}

TEST(HappyEyeballsRace, ARefusedAttemptStartsTheNextAtOnce) {
    int v4 = listen_on("127.0.0.1", 0, 16);
    ASSERT_GE(v4, 0);
    int closed = listen_on("127.0.0.2", port_of(v4), 16);
    if (closed >= 0) ::close(closed); // nothing listens on 127.0.0.2 at that port: refused
    fixture f;
    f.start({"127.0.0.2", "127.0.0.1"}, port_of(v4), {.delay = 10s, .attempt_timeout = 30s});
    const auto took = f.run();
    ASSERT_TRUE(f.done);
    EXPECT_FALSE(f.outcome.last);
    EXPECT_EQ(f.peer(), "127.0.0.1");
    EXPECT_LT(took, 2s); // not the 10 s delay
    ::close(v4);
}

TEST(HappyEyeballsRace, AllRefusedGivesTheLastError) {
    int probe = listen_on("127.0.0.1", 0, 1);
    const int port = port_of(probe);
    ::close(probe); // nothing listens there now
    fixture f;
    f.start({"127.0.0.1", "127.0.0.2"}, port, {});
    f.run();
    ASSERT_TRUE(f.done);
    EXPECT_EQ(f.outcome.last, asio::error::connection_refused);
    EXPECT_FALSE(f.outcome.timed_out);
    EXPECT_FALSE(f.stream.socket().is_open());
}

TEST(HappyEyeballsRace, ACancelEndsTheRaceAndClosesEveryAttempt) {
    if (!have_ipv6()) GTEST_SKIP() << "no ::1 here";
    const int fds = open_fds();
    {
        dead_address v6("::1", 0);
        if (!v6.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
        dead_address v4("127.0.0.1", v6.port());
        if (!v4.ok()) GTEST_SKIP() << "127.0.0.1 at that port is taken";
        fixture f;
        f.start({"::1", "127.0.0.1"}, v6.port(), {.delay = 20ms, .attempt_timeout = 30s});
        f.run(200ms); // both attempts running
        ASSERT_FALSE(f.done);
        f.stream.writing.cancel(); // the session is closing
        f.run();
        ASSERT_TRUE(f.done);
        EXPECT_EQ(f.outcome.last, asio::error::operation_aborted);
        EXPECT_FALSE(f.outcome.timed_out);
        EXPECT_FALSE(f.stream.socket().is_open());
    }
    EXPECT_EQ(open_fds(), fds);
}

TEST(HappyEyeballsRace, TheConnectDeadlineEndsTheRaceAsATimeout) {
    if (!have_ipv6()) GTEST_SKIP() << "no ::1 here";
    const int fds = open_fds();
    {
        dead_address v6("::1", 0);
        if (!v6.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
        dead_address v4("127.0.0.1", v6.port());
        if (!v4.ok()) GTEST_SKIP() << "127.0.0.1 at that port is taken";
        fixture f;
        f.start({"::1", "127.0.0.1"}, v6.port(), {.delay = 20ms, .attempt_timeout = 30s});
        f.run(200ms);
        ASSERT_FALSE(f.done);
        f.clock += 61s; // past the deadline start() armed
        f.deadlines.expire_passed(f.clock);
        f.run();
        ASSERT_TRUE(f.done);
        EXPECT_TRUE(f.outcome.timed_out);
        EXPECT_FALSE(f.stream.socket().is_open());
    }
    EXPECT_EQ(open_fds(), fds);
}

TEST(HappyEyeballsRace, AnAttemptPastItsTimeoutIsGivenUpWhileOthersRemain) {
    if (!have_ipv6()) GTEST_SKIP() << "no ::1 here";
    half_dead h;
    if (!h.ok()) GTEST_SKIP() << "this kernel answers a connect to a full listener";
    fixture f;
    // A delay longer than the attempt timeout: the IPv6 attempt is given up at 150 ms.
    f.start({"::1", "127.0.0.1"}, h.port, {.delay = 10s, .attempt_timeout = 150ms});
    const auto took = f.run();
    ASSERT_TRUE(f.done);
    EXPECT_FALSE(f.outcome.last);
    EXPECT_EQ(f.peer(), "127.0.0.1");
    EXPECT_GE(took, 140ms);
    EXPECT_LT(took, 2s);
}

} // namespace
} // namespace ferry::upstream
