// Denial of service, at a scale the test suite can afford (`make soak` runs the large ones
// with wrk and slowhttptest; docs/security.md has the figures): hundreds of slowloris
// clients dribbling their heads and hundreds of clients that never read their responses
// neither stall the others nor outlive their deadlines.
#include "support/admin_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/requests.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

// Meanwhile, a well-behaved client: every request on a new connection is served in time.
// Returns the number of requests that were not.
int well_behaved_client(const ferry_process& ferry, const test_origin& origin,
                        clock_type::duration how_long, std::chrono::milliseconds in_time) {
    int late_or_failed = 0;
    const auto until = clock_type::now() + how_long;
    for (int i = 0; i < 200 && clock_type::now() < until; ++i) {
        const auto start = clock_type::now();
        auto s = tcp_stream::connect_to(ferry.port());
        s.send_all(get(origin, "/size/2000"));
        auto r = s.read_response(5s);
        if (status_of(r) != 200 || body_of(r) != pattern(2000) ||
            clock_type::now() - start > in_time)
            ++late_or_failed;
        std::this_thread::sleep_for(50ms);
    }
    return late_or_failed;
}

} // namespace

// 300 slowloris clients each send a byte of their head every 300 ms: with a 2 s header
// timeout each is answered 408 and closed at about 2 s, while another client is served.
TEST(Dos, SlowlorisClientsAreClosedAtTheHeaderTimeoutWhileOthersAreServed) {
    test_origin origin;
    ferry_process ferry({"--workers", "2", "--header-timeout", "2"});
    ASSERT_TRUE(ferry.started()) << ferry.err();

    constexpr int slow_count = 300;
    std::vector<tcp_stream> slow;
    for (int i = 0; i < slow_count; ++i) {
        slow.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(slow.back().ok()) << i;
    }
    const std::string head = "GET " + origin.url("/") + " HTTP/1.1\r\nHost: " + origin.authority() +
                             "\r\nX-Slow: " + std::string(200, 'a');
    const auto start = clock_type::now();
    std::atomic<bool> done{false};
    std::thread dribbler([&] {
        // One byte per client per round; a write to a closed connection just fails.
        for (std::size_t at = 0; at < head.size() && !done; ++at) {
            for (auto& s : slow)
                ::send(s.fd(), head.data() + at, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            std::this_thread::sleep_for(300ms);
        }
    });
    const int bad = well_behaved_client(ferry, origin, 3s, 1s);

    // Every slow client got its 408 and was closed, in time (2 s, the 200 ms tick, slack).
    int answered = 0;
    for (auto& s : slow) {
        auto r = s.read_until_close(5s);
        if (status_of(r) == 408) ++answered;
    }
    const auto took = clock_type::now() - start;
    done = true;
    dribbler.join();
    EXPECT_EQ(bad, 0) << "requests not served within 1 s beside the slowloris clients";
    EXPECT_EQ(answered, slow_count);
    EXPECT_LT(took, 6s) << "slowloris connections outlived the header timeout";
}

// 50 clients ask for 32 MiB each and read none of it: ferry keeps serving others, and cuts
// the stalled ones at the send timeout once the kernel's buffers are full and its writes
// make no progress (their origin connections go with them). A body cut short is never
// passed off as complete: errors_test.cpp checks that.
TEST(Dos, ClientsThatNeverReadAreCutAtTheSendTimeoutWhileOthersAreServed) {
    test_origin origin;
    ferry_process ferry({"--workers", "2", "--send-timeout", "2", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0);

    constexpr int stalled_count = 50;
    std::vector<tcp_stream> stalled;
    for (int i = 0; i < stalled_count; ++i) {
        stalled.push_back(tcp_stream::connect_to(ferry.port()));
        // A small receive buffer, so the response fills it at once.
        int small = 4096;
        ::setsockopt(stalled.back().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        ASSERT_TRUE(stalled.back().send_all(get(origin, "/size/33554432")));
    }
    const int bad = well_behaved_client(ferry, origin, 2s, 2s);
    EXPECT_EQ(bad, 0) << "requests not served within 2 s beside the stalled readers";
    // Cut at the send timeout: ferry holds no connection for them any more.
    EXPECT_TRUE(
        eventually([&] { return fetch_metric(admin, "ferry_client_connections") <= 1; }, 15s))
        << fetch_metric(admin, "ferry_client_connections") << " client connections left";
    EXPECT_TRUE(
        eventually([&] { return fetch_metric(admin, "ferry_upstream_connections") <= 2; }, 8s))
        << fetch_metric(admin, "ferry_upstream_connections") << " upstream connections left";
}
