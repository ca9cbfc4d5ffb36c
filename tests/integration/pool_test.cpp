// The shared pool of idle upstream connections (issue 3): one pool per worker, keyed by
// host:port, so a connection one client's exchange left idle serves the next request for
// that origin from any client of the worker. Idle connections are capped per host
// (--pool-per-host) and in all (--pool-total), the oldest closed first, and closed after
// --pool-idle-timeout. Every test runs ferry with one worker, so that all its clients share
// one pool. What keeps a pooled connection from serving a request badly (an origin that
// closed it, unasked bytes, the retry) is in pool_safety_test.cpp; reuse by the same client
// is in keepalive_test.cpp.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/log_lines.h"
#include "support/pool_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <thread>

using namespace ferry_test;

namespace {

std::vector<std::string> with_one_worker(std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--workers", "1", "--flow"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::string get(const numbered_origin& o, std::string_view path) {
    return proxy_request(o.origin(), "GET", path);
}

// Waits until ferry's stdout holds `n` occurrences of `text`.
bool wait_for_count(const ferry_process& ferry, std::string_view text, int n,
                    std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto out = ferry.out();
        int found = 0;
        for (auto at = out.find(text); at != std::string::npos; at = out.find(text, at + 1))
            ++found;
        if (found >= n) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

// `count` clients at once, each one request for /<prefix><i> on its own connection; returns
// the response bodies in client order.
std::vector<std::string> concurrent_clients(const ferry_process& ferry, const numbered_origin& o,
                                            int count, std::string_view prefix) {
    std::vector<std::string> bodies(count);
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i)
        threads.emplace_back([&, i] {
            auto path = fmt::format("/{}{}", prefix, i);
            bodies[i] = std::string(body_of(exchange_once(ferry, get(o, path))));
        });
    for (auto& t : threads)
        t.join();
    return bodies;
}

std::vector<int> sorted(std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Every body is an answer of `o` on a first request, to the path its client asked for.
void expect_first_answers(const std::vector<std::string>& bodies, std::string_view name,
                          std::string_view prefix) {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        auto tail = fmt::format(" req 1 /{}{}", prefix, i);
        EXPECT_EQ(bodies[i].rfind(fmt::format("{} conn ", name), 0), 0u) << bodies[i];
        EXPECT_TRUE(bodies[i].ends_with(tail)) << bodies[i] << " should end with " << tail;
    }
}

} // namespace

TEST(Pool, NextClientReusesTheConnectionTheLastClientLeftIdle) {
    numbered_origin o("A");
    ferry_process ferry(with_one_worker());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/one")) << first;
    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(body_of(second), o.answer(1, 2, "/two")) << second;
    EXPECT_EQ(o.connections(), 1) << o.record().summary();

    // The flow log: the first client's exchange connected, the second's reused.
    auto events = upstream_events(ferry.out());
    ASSERT_EQ(events.size(), 2u) << ferry.out();
    EXPECT_FALSE(events[0].reused) << ferry.out();
    EXPECT_TRUE(events[1].reused) << ferry.out();
    EXPECT_EQ(events[1].upstream, o.authority());
    EXPECT_NE(events[0].connection, events[1].connection) << "two client connections";
    EXPECT_TRUE(o.record().closed_by_peer().empty()) << "the pooled connection stays open";
}

TEST(Pool, ConnectionGoesBackToThePoolWhileItsClientStaysConnected) {
    numbered_origin o("A");
    ferry_process ferry(with_one_worker());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto idle_client = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(idle_client.send_all(get(o, "/one")));
    EXPECT_EQ(body_of(idle_client.read_response(5s)), o.answer(1, 1, "/one"));
    // Its exchange has ended (logged); the client keeps its connection to ferry, idle.
    ASSERT_TRUE(wait_for_count(ferry, "CLI <== PRX --- SRV\n", 1)) << ferry.out();

    auto other = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(body_of(other), o.answer(1, 2, "/two")) << other;
    EXPECT_EQ(count_reused(ferry.out(), o.authority()), 1) << ferry.out();

    // And back to the first client, the same upstream connection again.
    ASSERT_TRUE(idle_client.send_all(get(o, "/three")));
    EXPECT_EQ(body_of(idle_client.read_response(5s)), o.answer(1, 3, "/three"));
    EXPECT_EQ(o.connections(), 1) << o.record().summary();
}

TEST(Pool, EachOriginHasItsOwnIdleConnections) {
    numbered_origin a("A"), b("B");
    ferry_process ferry(with_one_worker());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // Clients one after another, alternating origins: each origin's connection is pooled
    // and found again under its own host:port, never the other's.
    for (int i = 0; i < 6; ++i) {
        auto& o = i % 2 == 0 ? a : b;
        auto path = fmt::format("/r{}", i);
        auto r = exchange_once(ferry, get(o, path));
        EXPECT_EQ(body_of(r), o.answer(1, i / 2 + 1, path)) << r;
    }
    EXPECT_EQ(a.connections(), 1) << a.record().summary();
    EXPECT_EQ(b.connections(), 1) << b.record().summary();
    EXPECT_EQ(count_reused(ferry.out(), a.authority()), 2) << ferry.out();
    EXPECT_EQ(count_reused(ferry.out(), b.authority()), 2) << ferry.out();
    EXPECT_EQ(a.origin().received().find(b.authority()), std::string::npos);
    EXPECT_EQ(b.origin().received().find(a.authority()), std::string::npos);
}

TEST(Pool, ConcurrentClientsOfTwoOriginsAlwaysReachTheRightOne) {
    numbered_origin a("A"), b("B");
    ferry_process ferry(with_one_worker());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    constexpr int clients = 8, requests = 15;
    std::atomic<int> wrong{0};
    std::mutex mutex;
    std::string first_wrong;
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
        threads.emplace_back([&, t] {
            curl_client client;
            for (int i = 0; i < requests; ++i) {
                const bool to_a = (t + i) % 2 == 0;
                const auto& o = to_a ? a : b;
                auto path = fmt::format("/t{}/r{}", t, i);
                auto r = client.perform({.url = o.url(path), .proxy = ferry.proxy_url()});
                const bool right = r.code == CURLE_OK && r.status == 200 &&
                                   r.body.rfind(to_a ? "A conn " : "B conn ", 0) == 0 &&
                                   r.body.ends_with(" " + path);
                if (!right) {
                    ++wrong;
                    std::lock_guard lock(mutex);
                    if (first_wrong.empty())
                        first_wrong =
                            fmt::format("{} → {} ({})", path, r.body, curl_easy_strerror(r.code));
                }
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0) << first_wrong;
    EXPECT_LE(a.connections(), clients) << a.record().summary();
    EXPECT_LE(b.connections(), clients) << b.record().summary();
}

TEST(Pool, PerHostCapKeepsTheMostRecentAndClosesTheOldest) {
    // Six connections busy at once, given back to ferry in connection order, 60 ms apart.
    numbered_origin o("A", gathering(6, 60ms));
    ferry_process ferry(with_one_worker({"--pool-per-host", "2"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto bodies = concurrent_clients(ferry, o, 6, "c");
    expect_first_answers(bodies, "A", "c");
    ASSERT_EQ(o.connections(), 6) << o.record().summary();

    // Two may stay idle: the four given back first are closed.
    ASSERT_TRUE(o.record().wait_closed_by_peer(4, 3s)) << o.record().summary();
    EXPECT_FALSE(o.record().wait_closed_by_peer(5, 400ms)) << o.record().summary();
    EXPECT_EQ(sorted(o.record().closed_by_peer()), (std::vector<int>{1, 2, 3, 4}))
        << o.record().summary();

    // The two kept serve what comes next, the most recently used first; no new connection.
    auto r1 = exchange_once(ferry, get(o, "/after1"));
    EXPECT_EQ(body_of(r1), o.answer(6, 2, "/after1")) << r1;
    auto r2 = exchange_once(ferry, get(o, "/after2"));
    EXPECT_EQ(body_of(r2), o.answer(6, 3, "/after2")) << r2;
    EXPECT_EQ(o.connections(), 6) << o.record().summary();
}

TEST(Pool, TotalCapClosesTheOldestIdleConnectionOfAnyOrigin) {
    numbered_origin a("A", gathering(4, 60ms)), b("B", gathering(4, 60ms));
    ferry_process ferry(with_one_worker({"--pool-per-host", "10", "--pool-total", "3"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();

    // Four of A's at once: three may stay, the first given back is closed.
    expect_first_answers(concurrent_clients(ferry, a, 4, "a"), "A", "a");
    ASSERT_EQ(a.connections(), 4) << a.record().summary();
    ASSERT_TRUE(a.record().wait_closed_by_peer(1, 3s)) << a.record().summary();
    EXPECT_FALSE(a.record().wait_closed_by_peer(2, 400ms)) << a.record().summary();
    EXPECT_EQ(a.record().closed_by_peer(), (std::vector<int>{1})) << a.record().summary();

    // Then four of B's: as they come back, A's three (older) go first, then B's first.
    expect_first_answers(concurrent_clients(ferry, b, 4, "b"), "B", "b");
    ASSERT_EQ(b.connections(), 4) << b.record().summary();
    ASSERT_TRUE(a.record().wait_closed_by_peer(4, 3s)) << a.record().summary();
    ASSERT_TRUE(b.record().wait_closed_by_peer(1, 3s)) << b.record().summary();
    EXPECT_FALSE(b.record().wait_closed_by_peer(2, 400ms)) << b.record().summary();
    EXPECT_EQ(b.record().closed_by_peer(), (std::vector<int>{1})) << b.record().summary();

    // B's request finds an idle connection (its newest); A's needs a new one.
    auto rb = exchange_once(ferry, get(b, "/again"));
    EXPECT_EQ(body_of(rb), b.answer(4, 2, "/again")) << rb;
    EXPECT_EQ(b.connections(), 4);
    auto ra = exchange_once(ferry, get(a, "/again"));
    EXPECT_EQ(body_of(ra), a.answer(5, 1, "/again")) << ra;
    EXPECT_EQ(a.connections(), 5);
}

TEST(Pool, IdleConnectionIsClosedAfterTheIdleTimeout) {
    numbered_origin o("A");
    ferry_process ferry(with_one_worker({"--pool-idle-timeout", "1"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/one"));
    const auto idle_since = std::chrono::steady_clock::now();

    ASSERT_TRUE(o.record().wait_closed_by_peer(1, 4s))
        << "an idle pooled connection outlived --pool-idle-timeout 1";
    auto idle = *o.record().closed_at(1) - idle_since;
    EXPECT_GE(idle, 800ms) << "closed before its idle timeout";
    EXPECT_LE(idle, 2500ms) << "closed too long after its idle timeout";

    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(body_of(second), o.answer(2, 1, "/two")) << second;
    EXPECT_EQ(o.connections(), 2);
}

TEST(Pool, DefaultIdleTimeoutKeepsAnIdleConnectionOpen) {
    numbered_origin o("A");
    ferry_process ferry(with_one_worker());
    ASSERT_TRUE(ferry.started()) << ferry.err();
    exchange_once(ferry, get(o, "/one"));
    // Well past a sweep or two; the default timeout is a minute.
    EXPECT_FALSE(o.record().wait_closed_by_peer(1, 1500ms)) << o.record().summary();
    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(body_of(second), o.answer(1, 2, "/two")) << second;
}

TEST(Pool, PerHostZeroMeansNoReuseAcrossClients) {
    numbered_origin o("A");
    ferry_process ferry(with_one_worker({"--pool-per-host", "0"}));
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // Each client stays connected, idle, while the next one asks.
    std::vector<tcp_stream> clients;
    for (int i = 1; i <= 3; ++i) {
        auto path = fmt::format("/c{}", i);
        clients.push_back(tcp_stream::connect_to(ferry.port()));
        ASSERT_TRUE(clients.back().send_all(get(o, path)));
        EXPECT_EQ(body_of(clients.back().read_response(5s)), o.answer(i, 1, path));
        ASSERT_TRUE(wait_for_count(ferry, "CLI <== PRX --- SRV\n", i)) << ferry.out();
    }
    // And one after another, each closing before the next.
    for (int i = 4; i <= 5; ++i) {
        auto path = fmt::format("/c{}", i);
        EXPECT_EQ(body_of(exchange_once(ferry, get(o, path))), o.answer(i, 1, path));
    }
    EXPECT_EQ(o.connections(), 5) << o.record().summary();
    EXPECT_EQ(count_reused(ferry.out(), o.authority()), 0) << ferry.out();
    // The connections of the clients that left are not kept either.
    EXPECT_TRUE(o.record().wait_closed_by_peer(2, 3s)) << o.record().summary();
}

TEST(Pool, ManyKeepAliveClientsThroughOnePool) {
    test_origin origin;
    ferry_process ferry({"--workers", "1"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    constexpr int clients = 50, requests = 20;
    std::atomic<int> wrong{0};
    std::mutex mutex;
    std::string first_wrong;
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t)
        threads.emplace_back([&, t] {
            curl_client client;
            for (int i = 0; i < requests; ++i) {
                const std::size_t n = 1 + (t * requests + i) * 977 % 30000;
                const bool chunked = i % 3 == 1;
                auto path = fmt::format("/{}/{}", chunked ? "chunked" : "size", n);
                auto r = client.perform({.url = origin.url(path),
                                         .proxy = ferry.proxy_url(),
                                         .keep_body = false,
                                         .timeout_ms = 10000});
                if (r.code != CURLE_OK || r.status != 200 || r.body_size != n ||
                    r.body_hash != hash_pattern(n)) {
                    ++wrong;
                    std::lock_guard lock(mutex);
                    if (first_wrong.empty())
                        first_wrong =
                            fmt::format("{}: {} status {} {} bytes", path,
                                        curl_easy_strerror(r.code), r.status, r.body_size);
                }
            }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0) << first_wrong;
    // A thousand requests, never more than fifty at once: connections are reused.
    EXPECT_LE(origin.connections(), 150) << "upstream connections for 1000 requests";
    EXPECT_TRUE(ferry.running());
}
