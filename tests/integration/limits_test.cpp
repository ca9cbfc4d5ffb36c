// Connection limits (--max-connections, --max-connections-per-client) and running out of file
// descriptors. Over a limit a new client gets "503 ferry: too many connections ..." and is
// closed at once, the connections already open are served as before, and a slot freed by a
// client that leaves is taken by the next one. Out of descriptors (EMFILE), ferry stops
// accepting for a while instead of spinning or failing, keeps what it has, and accepts the
// waiting clients once descriptors are free again.
#include "support/admin_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/requests.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// One request on `s`: true when it was answered 200 with the whole body.
bool served(tcp_stream& s, const test_origin& origin, std::size_t size = 100) {
    if (!s.send_all(get(origin, size))) return false;
    auto r = s.read_response(5s);
    return status_of(r) == 200 && body_of(r) == pattern(size);
}

// A connection to ferry from a chosen loopback source address (127.0.0.2 is another client).
tcp_stream connect_from(const char* source, int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(std::uint16_t(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return {};
    }
    return tcp_stream(fd);
}

// What a refused client sees: a 503 naming the limit, then the connection closed.
void expect_refused(tcp_stream& s, const test_origin& origin, const std::string& cause) {
    s.send_all(get(origin, 10)); // may fail: ferry can close before the request is written
    auto r = s.read_until_close(5s);
    ASSERT_EQ(status_of(r), 503) << r;
    EXPECT_EQ(body_of(r), "ferry: " + cause + "\n");
    EXPECT_EQ(header_value(head_of(r), "Connection"), "close");
}

} // namespace

TEST(Limits, OverMaxConnectionsANewClientGets503AndTheOthersAreServed) {
    test_origin origin;
    ferry_process ferry(
        {"--workers", "2", "--max-connections", "4", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0);

    std::vector<tcp_stream> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(served(held.back(), origin)) << "client " << i;
    }
    // The fifth: refused at once, twice (a refusal frees nothing).
    for (int i = 0; i < 2; ++i) {
        auto extra = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(extra.ok());
        expect_refused(extra, origin, "too many connections (limit 4)");
    }
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections_refused_total"), 2);
    // The four held are still served, parked or not (idle ones park after a second).
    std::this_thread::sleep_for(1200ms);
    for (auto& s : held)
        EXPECT_TRUE(served(s, origin));
    // One leaves: its slot goes to the next client (once ferry has seen it close).
    held.front().close();
    held.erase(held.begin());
    ASSERT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_client_connections") == 3; }));
    auto next = tcp_stream::connect_to(ferry.port());
    EXPECT_TRUE(served(next, origin)) << "a freed slot was not given to the next client";
}

TEST(Limits, ParkedClientsCountAndTheirSlotsComeBackWhenTheyLeave) {
    test_origin origin;
    ferry_process ferry(
        {"--workers", "1", "--max-connections", "3", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    std::vector<tcp_stream> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(served(held.back(), origin));
    }
    ASSERT_TRUE(
        eventually([&] { return fetch_metric(admin, "ferry_client_connections_parked") == 3; }));
    auto extra = tcp_stream::connect_to(ferry.port());
    expect_refused(extra, origin, "too many connections (limit 3)");
    // A parked client that closes gives its slot back without ever getting a session.
    held.back().close();
    ASSERT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_client_connections") == 2; }));
    auto next = tcp_stream::connect_to(ferry.port());
    EXPECT_TRUE(served(next, origin));
}

TEST(Limits, PerClientLimitRefusesThatAddressOnly) {
    test_origin origin;
    ferry_process ferry({"--workers", "2", "--max-connections-per-client", "2"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::vector<tcp_stream> mine;
    for (int i = 0; i < 2; ++i) {
        mine.push_back(connect_from("127.0.0.1", ferry.port()));
        ASSERT_TRUE(served(mine.back(), origin));
    }
    auto third = connect_from("127.0.0.1", ferry.port());
    ASSERT_TRUE(third.ok());
    expect_refused(third, origin, "too many connections from 127.0.0.1 (limit 2)");
    // Another client address is not affected (the default access rules serve loopback).
    auto other = connect_from("127.0.0.2", ferry.port());
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(served(other, origin));
    for (auto& s : mine)
        EXPECT_TRUE(served(s, origin));
    // Load drops: the address may connect again.
    mine.clear();
    EXPECT_TRUE(eventually([&] {
        auto again = connect_from("127.0.0.1", ferry.port());
        return served(again, origin);
    }));
}

TEST(Limits, LimitsComeFromTheConfigFileToo) {
    test_origin origin;
    const std::string path = ::testing::TempDir() + "ferry_limits_test.toml";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("max_connections = 1\nmax_connections_per_client = 1\n", f);
        std::fclose(f);
    }
    ferry_process ferry({"--config", path});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(served(first, origin));
    auto second = tcp_stream::connect_to(ferry.port());
    expect_refused(second, origin, "too many connections (limit 1)");
    std::remove(path.c_str());
}

// With its descriptors used up, ferry keeps the connections it has and accepts the waiting
// ones once clients leave. The limit is lowered on the running ferry (prlimit), as ferry
// raises its own soft limit to the hard one at start.
TEST(Limits, OutOfFileDescriptorsFerryBacksOffKeepsItsClientsAndAcceptsAgain) {
    test_origin origin;
    ferry_process ferry({"--workers", "1", "--max-connections", "10000"});
    auto keeper = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(served(keeper, origin)) << "before the limit";

    constexpr rlim_t files = 96;
    const rlimit low{files, files};
    ASSERT_EQ(::prlimit(ferry.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);
    // More clients than descriptors left: the last ones wait in the listen backlog.
    std::vector<tcp_stream> crowd;
    for (rlim_t i = 0; i < files + 20; ++i) {
        crowd.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(crowd.back().ok()) << i;
    }
    // ferry is full: a request on a waiting connection is not answered...
    ASSERT_TRUE(crowd.back().send_all(get(origin, 10)));
    auto r = crowd.back().read_response(1500ms);
    EXPECT_EQ(status_of(r), 0) << "ferry answered with no descriptor left? " << r;
    // ...but it is still alive, and the client it had is still served: the origin
    // connection from the first request is reused from the pool.
    EXPECT_TRUE(ferry.running());
    EXPECT_TRUE(served(keeper, origin)) << "an existing client was dropped at EMFILE";

    // Clients leave: ferry accepts again, the waiting one among the first.
    auto waiting = std::move(crowd.back());
    crowd.clear();
    r = waiting.read_response(10s);
    EXPECT_EQ(status_of(r), 200) << "the client waiting in the backlog was never served";
    auto fresh = tcp_stream::connect_to(ferry.port());
    EXPECT_TRUE(served(fresh, origin));
    EXPECT_TRUE(served(keeper, origin));
    EXPECT_EQ(ferry.stop(), 0) << ferry.err();
}
