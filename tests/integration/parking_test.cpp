// Idle keep-alive clients are parked (app/parking.h): a quiet client's session ends and its
// connection waits in the worker with no buffer or coroutine, after a pause, or at once when
// the worker is crowded. What a client must see: nothing. Its next request is served on the
// same connection, the idle timeout still closes it, shutdown still ends it, and one that
// leaves is counted out. The admin page's ferry_client_connections_parked shows the state.
#include "support/admin_client.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/requests.h"
#include "support/socket_io.h"

#include <gtest/gtest.h>

#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// Sends a GET for `size` bytes and checks the answer: 200 and the pattern body.
void expect_served(tcp_stream& s, const test_origin& origin, std::size_t size) {
    ASSERT_TRUE(s.send_all(get(origin, size)));
    auto r = s.read_response(5s);
    ASSERT_EQ(status_of(r), 200) << r.substr(0, 300);
    EXPECT_EQ(body_of(r), pattern(size));
}

// A client connection that made one exchange and now waits parked (the admin page says so).
tcp_stream parked_connection(const ferry_process& ferry, int admin, const test_origin& origin) {
    auto s = tcp_stream::connect_to(ferry.port());
    expect_served(s, origin, 10);
    EXPECT_TRUE(eventually([&] {
        return fetch_metric(admin, "ferry_client_connections_parked") == 1;
    })) << "the idle client was not parked";
    return s;
}

// A ferry with an admin listener and one client parked after an exchange.
class ParkedClient : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(ferry.started()) << ferry.err();
        admin = admin_port(ferry);
        s = parked_connection(ferry, admin, origin);
        ASSERT_FALSE(HasFailure());
    }

    test_origin origin;
    ferry_process ferry{{"--admin-listen", "127.0.0.1:0"}};
    int admin = 0;
    tcp_stream s;
};

} // namespace

TEST(Parking, QuietClientIsParkedAndItsNextRequestServedOnTheSameConnection) {
    test_origin origin;
    ferry_process ferry({"--workers", "1", "--admin-listen", "127.0.0.1:0", "--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_NE(admin, 0) << ferry.out();

    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok());
    expect_served(s, origin, 1000);
    // Quiet for a while: parked (the admin page's own connection is never counted there).
    ASSERT_TRUE(eventually([&] {
        return fetch_metric(admin, "ferry_client_connections_parked") == 1;
    })) << "the idle client was not parked";
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections"), 1)
        << "a parked client is still open";
    for (int round = 0; round < 2; ++round) {
        expect_served(s, origin, 70000 + std::size_t(round));
        ASSERT_TRUE(eventually(
            [&] { return fetch_metric(admin, "ferry_client_connections_parked") == 1; }));
    }
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections_total"), 1)
        << "the requests after parking came on the same connection";
    // The flow log tells one connection's story: connected once, three exchanges.
    s.close();
    ASSERT_TRUE(ferry.wait_for_out("[CLI disconnected from")) << ferry.out();
    const auto out = ferry.out();
    std::size_t connected = 0;
    for (auto at = out.find("[CLI connected to"); at != std::string::npos;
         at = out.find("[CLI connected to", at + 1))
        ++connected;
    EXPECT_EQ(connected, 1u) << out;
    EXPECT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_client_connections") == 0; }));
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections_parked"), 0);
}

TEST(Parking, ParkedClientIsClosedAtTheIdleTimeoutNotBefore) {
    test_origin origin;
    ferry_process ferry({"--idle-timeout", "3", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    auto s = tcp_stream::connect_to(ferry.port());
    expect_served(s, origin, 100);
    const auto answered = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        eventually([&] { return fetch_metric(admin, "ferry_client_connections_parked") == 1; }));
    // Parked after about a second, and still open: the idle timeout counts from the answer.
    EXPECT_FALSE(s.peer_closed(500ms)) << "closed before the idle timeout";
    ASSERT_TRUE(s.peer_closed(5s)) << "the parked connection outlived the idle timeout";
    const auto idle = std::chrono::steady_clock::now() - answered;
    EXPECT_GE(idle, 2800ms);
    EXPECT_LE(idle, 4500ms);
    EXPECT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_client_connections") == 0; }));
}

TEST(Parking, CrowdedWorkerParksAtOnceAndServesEveryClientAgain) {
    test_origin origin;
    ferry_process ferry({"--workers", "1", "--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    constexpr int clients = 200;
    std::vector<tcp_stream> streams;
    for (int i = 0; i < clients; ++i) {
        streams.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(streams.back().ok());
        expect_served(streams.back(), origin, 100 + std::size_t(i));
    }
    // Past the crowd mark (64 sessions a worker) a quiet client parks without a pause; the
    // rest follow within about a second.
    EXPECT_GE(fetch_metric(admin, "ferry_client_connections_parked"), clients - 64 - 8);
    ASSERT_TRUE(eventually(
        [&] { return fetch_metric(admin, "ferry_client_connections_parked") == clients; }));
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections"), clients);
    // All at once: each sends its second request, then each reads its answer.
    for (int i = 0; i < clients; ++i)
        ASSERT_TRUE(streams[std::size_t(i)].send_all(get(origin, 5000 + std::size_t(i))));
    for (int i = 0; i < clients; ++i) {
        auto r = streams[std::size_t(i)].read_response(10s);
        ASSERT_EQ(status_of(r), 200) << "client " << i << ": " << r.substr(0, 200);
        ASSERT_EQ(body_of(r), pattern(5000 + std::size_t(i))) << "client " << i;
    }
    streams.clear();
    EXPECT_TRUE(eventually([&] { return fetch_metric(admin, "ferry_client_connections") == 0; }));
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections_parked"), 0);
    EXPECT_EQ(fetch_metric(admin, "ferry_client_connections_total"), clients);
}

TEST_F(ParkedClient, RequestSplitAcrossTheParkingIsStillOneRequest) {
    // The first bytes wake it; the rest comes later, within the header timeout.
    const auto request = get(origin, 2000);
    ASSERT_TRUE(s.send_all(request.substr(0, 7)));
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(s.send_all(request.substr(7)));
    auto r = s.read_response(5s);
    ASSERT_EQ(status_of(r), 200) << r.substr(0, 200);
    EXPECT_EQ(body_of(r), pattern(2000));
}

TEST_F(ParkedClient, RequestSentWithTheClientsCloseIsAnswered) {
    // A last request and the end of the client's sending side arrive together: the request
    // is served before the connection closes.
    ASSERT_TRUE(s.send_all(get(origin, 3000)));
    s.shutdown_write();
    auto r = s.read_response(5s);
    ASSERT_EQ(status_of(r), 200) << r.substr(0, 200);
    EXPECT_EQ(body_of(r), pattern(3000));
    EXPECT_TRUE(s.peer_closed(5s));
}

TEST(Parking, ClientThatLeavesIsCountedOut) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0", "--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    {
        auto s = parked_connection(ferry, admin, origin);
        ASSERT_FALSE(HasFailure());
    }
    EXPECT_TRUE(eventually([&] {
        return fetch_metric(admin, "ferry_client_connections") == 0 &&
               fetch_metric(admin, "ferry_client_connections_parked") == 0;
    }));
    EXPECT_TRUE(ferry.wait_for_out("[CLI disconnected from")) << ferry.out();
}

TEST(Parking, ShutdownClosesParkedClientsAtOnce) {
    test_origin origin;
    ferry_process ferry({"--admin-listen", "127.0.0.1:0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    std::vector<tcp_stream> streams;
    for (int i = 0; i < 5; ++i) {
        streams.push_back(tcp_stream::connect_to(ferry.port()));
        expect_served(streams.back(), origin, 10);
    }
    ASSERT_TRUE(
        eventually([&] { return fetch_metric(admin, "ferry_client_connections_parked") == 5; }));
    const auto start = std::chrono::steady_clock::now();
    const int status = ferry.stop(SIGTERM, 10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s) << "idle clients held up shutdown";
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    for (auto& s : streams)
        EXPECT_TRUE(s.peer_closed(2s));
}
