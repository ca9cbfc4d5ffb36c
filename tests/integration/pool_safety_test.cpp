// What keeps an idle pooled upstream connection from serving a request badly (issue 3): one
// the origin closed or sent unasked bytes on is never handed out; a response that does not
// leave the connection clean (Connection: close, a body up to close, HTTP/1.0 without
// keep-alive, cut short, bytes after it) never puts it in the pool; and a request that fails
// on a reused connection before any response byte is retried once on a fresh connection,
// only when it is idempotent and has no body. ferry runs with one worker: one pool.
#include "support/admin_client.h"
#include "support/ferry_process.h"
#include "support/pool_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fmt/format.h>
#include <thread>

using namespace ferry_test;

namespace {

const std::vector<std::string> one_worker{"--workers", "1", "--flow"};

std::string get(const numbered_origin& o, std::string_view path) {
    return proxy_request(o.origin(), "GET", path);
}

// Waits (bounded) until `flag` is set.
bool wait_flag(const std::atomic<bool>& flag, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!flag.load()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// ferry's own answer: a 502, one text/plain line "ferry: <cause>".
void expect_ferry_502(const std::string& response) {
    EXPECT_EQ(status_of(response), 502) << response;
    EXPECT_EQ(header_value(response, "content-type").rfind("text/plain", 0), 0u) << response;
    EXPECT_EQ(body_of(response).rfind("ferry: ", 0), 0u) << response;
}

} // namespace

// --- idle connections that went bad --------------------------------------------------------

TEST(PoolSafety, ConnectionTheOriginClosedWhileIdleIsNotHandedOut) {
    // Connection 1 answers, then, once the test says so (its client gone, the connection
    // idle in the pool), the origin closes it, as for its own idle timeout.
    auto close_now = std::make_shared<std::atomic<bool>>(false);
    numbered_origin o("A", [close_now](origin_exchange& x) {
        send_identity(x);
        if (x.conn != 1) return true;
        wait_flag(*close_now);
        return false;
    });
    ferry_process ferry(one_worker);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/one"));
    *close_now = true;
    ASSERT_TRUE(o.origin().wait_closed(1, 3s));
    // The FIN is on its way over loopback; let it land before the next request.
    std::this_thread::sleep_for(100ms);

    // The closed connection must be found out before use, not tried and failed (which the
    // flow log would show as a retry).
    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(status_of(second), 200) << second;
    EXPECT_EQ(body_of(second), o.answer(2, 1, "/two")) << second;
    EXPECT_EQ(o.connections(), 2);
    EXPECT_EQ(o.record().requests_for("GET", "/two"), 1) << o.record().summary();
    EXPECT_EQ(count_reused(ferry.out(), o.authority()), 0) << ferry.out();
    EXPECT_EQ(count_connected(ferry.out(), o.authority()), 2) << ferry.out();
    EXPECT_EQ(ferry.out().find("retrying"), std::string::npos) << ferry.out();

    // And a GET after it, on the connection the second one left idle.
    auto third = exchange_once(ferry, get(o, "/three"));
    EXPECT_EQ(body_of(third), o.answer(2, 2, "/three")) << third;
}

TEST(PoolSafety, ConnectionWithUnaskedBytesIsNotHandedOut) {
    // Connection 1 answers, then, idle in the pool, gets a whole response nobody asked for.
    auto send_now = std::make_shared<std::atomic<bool>>(false);
    auto sent = std::make_shared<std::atomic<bool>>(false);
    numbered_origin o("A", [send_now, sent](origin_exchange& x) {
        send_identity(x);
        if (x.conn == 1 && x.req == 1) {
            wait_flag(*send_now);
            x.c.send("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nunasked");
            *sent = true;
        }
        return true;
    });
    ferry_process ferry(one_worker);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/one"));
    *send_now = true;
    ASSERT_TRUE(wait_flag(*sent));
    std::this_thread::sleep_for(100ms); // the bytes are on their way over loopback

    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(status_of(second), 200) << second;
    EXPECT_EQ(body_of(second), o.answer(2, 1, "/two")) << second;
    EXPECT_EQ(o.connections(), 2) << o.record().summary();
    EXPECT_EQ(o.record().requests_for("GET", "/two"), 1) << o.record().summary();
    // The spoilt connection is closed, not kept.
    EXPECT_TRUE(o.record().wait_closed_by_peer(1, 3s)) << o.record().summary();
}

// --- responses that leave the connection unfit to keep --------------------------------------

struct unfit_case {
    const char* name;
    const char* response; // the answer to the first request on connection 1
    bool half_close;      // then the origin shuts down its sending side (still reading)
    bool complete;        // the client gets the whole response "first"
};

void PrintTo(const unfit_case& c, std::ostream* os) {
    *os << c.name;
}

class PoolUnfitResponse : public ::testing::TestWithParam<unfit_case> {};

TEST_P(PoolUnfitResponse, LeavesTheConnectionOutOfThePool) {
    const auto& param = GetParam();
    // Connection 1 answers its first request as the case says, and whatever comes after
    // (which should be nothing) with the identity answer; later connections always do.
    numbered_origin o("A", [&param](origin_exchange& x) {
        if (x.conn != 1 || x.req != 1) return send_identity(x);
        x.c.send(param.response);
        if (param.half_close) x.c.stream.shutdown_write();
        return true;
    });
    ferry_process ferry(one_worker);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(status_of(first), 200) << first;
    if (param.complete) {
        auto body = std::string(body_of(first));
        std::string decoded;
        if (header_value(first, "transfer-encoding") == "chunked" && dechunk(body, decoded))
            body = decoded;
        EXPECT_EQ(body, "first") << first;
    }

    // ferry closes connection 1 when the exchange ends, rather than keep it idle (where
    // only the check before reuse would find it unfit).
    EXPECT_TRUE(o.record().wait_closed_by_peer(1, 2s)) << o.record().summary();

    auto second = exchange_once(ferry, get(o, "/two"));
    EXPECT_EQ(body_of(second), o.answer(2, 1, "/two")) << second;
    EXPECT_EQ(o.connections(), 2) << o.record().summary();
    EXPECT_EQ(o.record().requests_for("GET", "/two"), 1) << o.record().summary();
    EXPECT_EQ(count_reused(ferry.out(), o.authority()), 0) << ferry.out();
}

INSTANTIATE_TEST_SUITE_P(
    PoolSafety, PoolUnfitResponse,
    ::testing::Values(
        unfit_case{"ConnectionClose",
                   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nfirst", false,
                   true},
        unfit_case{"HttpOneZeroWithoutKeepAlive",
                   "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nfirst", false, true},
        unfit_case{"BodyUpToClose", "HTTP/1.1 200 OK\r\n\r\nfirst", true, true},
        unfit_case{"CutShort", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst", true, false},
        unfit_case{"BytesAfterTheResponse",
                   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstHTTP/1.1 200 OK\r\n"
                   "Content-Length: 5\r\n\r\nextra",
                   false, true}),
    [](const auto& info) { return std::string(info.param.name); });

// --- the race: the origin drops a reused connection as the request arrives ------------------

namespace {

struct race_outcome {
    std::string response;
    int seen = 0;     // how often the origin received the racing request
    int accepted = 0; // connections the origin accepted in all
    std::string summary;
};

// One client's GET leaves connection 1 idle; the next client's request reuses it, and the
// origin reads that request whole and closes without a byte of answer. Later connections
// answer, or, with `fresh_fails`, drop their first request the same way.
race_outcome race(std::string_view method, std::string_view body, bool fresh_fails = false) {
    numbered_origin o("A", [fresh_fails](origin_exchange& x) {
        const bool drop = x.conn == 1 ? x.req == 2 : fresh_fails;
        if (drop) return false;
        return send_identity(x);
    });
    ferry_process ferry(one_worker);
    if (!ferry.started()) {
        ADD_FAILURE() << ferry.err();
        return {};
    }
    auto first = exchange_once(ferry, get(o, "/first"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/first"));
    race_outcome out;
    out.response =
        exchange_once(ferry, proxy_request(o.origin(), method, "/second", body), method == "HEAD");
    out.seen = o.record().requests_for(method, "/second");
    out.accepted = o.connections();
    out.summary = o.record().summary() + "\n" + ferry.out();
    return out;
}

} // namespace

TEST(PoolSafety, GetDroppedOnAReusedConnectionIsRetriedOnAFreshOne) {
    auto r = race("GET", "");
    EXPECT_EQ(status_of(r.response), 200) << r.response;
    EXPECT_EQ(body_of(r.response), identity_body("A", 2, 1, "/second")) << r.response;
    EXPECT_EQ(r.seen, 2) << r.summary;
    EXPECT_EQ(r.accepted, 2) << r.summary;
    EXPECT_NE(r.summary.find("closed the reused connection before answering: retrying]"),
              std::string::npos)
        << "the flow log shows the retry\n"
        << r.summary;
}

TEST(PoolSafety, HeadAndDeleteAreRetriedToo) {
    for (const char* method : {"HEAD", "DELETE"}) {
        SCOPED_TRACE(method);
        auto r = race(method, "");
        EXPECT_EQ(status_of(r.response), 200) << r.response;
        EXPECT_EQ(r.seen, 2) << r.summary;
        EXPECT_EQ(r.accepted, 2) << r.summary;
    }
}

// A request ferry could not retry (not idempotent, or with a body it streams and does not
// keep) is never sent on an idle pooled connection, which the origin may be closing at that
// moment (Squid's default): it gets a fresh connection, and the idle one is left alone.
TEST(PoolSafety, NonRetriableRequestsNeverTakeAnIdleConnection) {
    const std::pair<const char*, const char*> cases[] = {
        {"POST", "payload"}, {"POST", ""}, {"PUT", "replacement"}, {"PATCH", "x"}};
    for (const auto& [method, body] : cases) {
        SCOPED_TRACE(std::string(method) + " with body '" + body + "'");
        auto r = race(method, body);
        EXPECT_EQ(status_of(r.response), 200) << r.response;
        EXPECT_EQ(body_of(r.response).rfind(identity_body("A", 2, 1, "/second"), 0), 0u)
            << r.response;
        EXPECT_EQ(r.seen, 1) << r.summary;
        EXPECT_EQ(r.accepted, 2) << r.summary;
    }
}

TEST(PoolSafety, RetryHappensOnlyOnce) {
    auto r = race("GET", "", true);
    expect_ferry_502(r.response);
    EXPECT_EQ(r.seen, 2) << r.summary;
    EXPECT_EQ(r.accepted, 2) << r.summary;
}

TEST(PoolSafety, RetryIsOnAFreshConnectionNotAnotherPooledOne) {
    // Two connections busy at once, then both idle in the pool; both drop the request that
    // reuses them. The retry must not take the other pooled one: it opens a third.
    auto first_two = gathering(2, 60ms);
    numbered_origin o("A", [first_two](origin_exchange& x) {
        if (x.conn > 2) return send_identity(x);
        if (x.req == 1) return first_two(x);
        return false;
    });
    ferry_process ferry(one_worker);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    std::thread other([&] { exchange_once(ferry, get(o, "/c1")); });
    exchange_once(ferry, get(o, "/c0"));
    other.join();
    ASSERT_EQ(o.connections(), 2) << o.record().summary();

    auto r = exchange_once(ferry, get(o, "/second"));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(body_of(r), o.answer(3, 1, "/second")) << r;
    EXPECT_EQ(o.record().requests_for("GET", "/second"), 2) << o.record().summary();
    EXPECT_EQ(o.connections(), 3) << o.record().summary();
}

TEST(PoolSafety, IdleConnectionTheOriginClosesIsClosedAtOnceNotAtTheIdleTimeout) {
    // The origin closes its side of connection 1 a moment after answering; ferry, watching
    // its idle connections, closes it too (no socket left in CLOSE_WAIT for the pool's
    // 60 s idle timeout).
    numbered_origin o("A", [](origin_exchange& x) {
        send_identity(x);
        std::this_thread::sleep_for(600ms);
        return false;
    });
    ferry_process ferry({"--workers", "1", "--admin-listen", "127.0.0.1:0", "--flow"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int admin = admin_port(ferry);
    ASSERT_GT(admin, 0) << ferry.out();
    auto first = exchange_once(ferry, get(o, "/one"));
    EXPECT_EQ(body_of(first), o.answer(1, 1, "/one"));
    auto until = [&](const std::string& sample, double value) {
        for (int i = 0; i < 40; ++i) {
            if (fetch_metric(admin, sample) == value) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    };
    // It was kept for reuse (the flow log says so), then the origin closed it.
    EXPECT_TRUE(ferry.wait_for_out("kept for reuse")) << ferry.out();
    ASSERT_TRUE(o.origin().wait_closed(1, 3s));
    EXPECT_TRUE(until("ferry_upstream_connections", 0))
        << "the connection the origin closed is still open in ferry";
    EXPECT_EQ(fetch_metric(admin, "ferry_upstream_pool_idle_connections"), 0);
    EXPECT_EQ(fetch_metric(admin, "ferry_upstream_pool_stale_total"), 1);
}
