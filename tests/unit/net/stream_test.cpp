// The in-memory stream and the deadline ticker: what the exchange tests stand on.
#include "net/memory_stream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace ferry::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct fixture {
    asio::io_context io;
    steady_time clock = std::chrono::steady_clock::now();
    deadline_list deadlines;
    void settle() {
        for (int i = 0; i < 1000; ++i) {
            io.restart();
            if (io.poll() == 0) return;
        }
    }
    // Time passes: the ticker expires what is due, and the loop runs what that woke.
    void pass(std::chrono::milliseconds by) {
        clock += by;
        deadlines.expire_passed(clock);
        settle();
    }
};

// Reads once from `s` into `out`, recording the error.
void read_once(fixture& f, stream& s, std::string& out, error_code& result, bool& done) {
    asio::co_spawn(
        f.io,
        [&]() -> asio::awaitable<void> {
            byte_buffer b(64);
            std::size_t got = 0;
            result = co_await s.read_some(b, 1024, 5s, got);
            out.assign(b.data());
            done = true;
        },
        asio::detached);
}

TEST(MemoryStream, CarriesBytesBothWaysAndEndOfStream) {
    fixture f;
    auto [a, b] = memory_stream::pair(f.io, f.clock, &f.deadlines);
    std::string got;
    error_code ec;
    bool done = false;
    read_once(f, *b, got, ec, done);
    f.settle();
    EXPECT_FALSE(done); // nothing written yet: the read waits
    std::string hello = "hello";
    asio::co_spawn(
        f.io, [&]() -> asio::awaitable<void> { co_await a->write(asio::buffer(hello), 1s); },
        asio::detached);
    f.settle();
    ASSERT_TRUE(done);
    EXPECT_FALSE(ec);
    EXPECT_EQ(got, "hello");

    done = false;
    read_once(f, *b, got, ec, done);
    a->shutdown_send();
    f.settle();
    ASSERT_TRUE(done);
    EXPECT_EQ(ec, asio::error::eof);
}

TEST(MemoryStream, AnAbortIsAReset) {
    fixture f;
    auto [a, b] = memory_stream::pair(f.io, f.clock, &f.deadlines);
    std::string got;
    error_code ec;
    bool done = false;
    read_once(f, *b, got, ec, done);
    a->abort();
    f.settle();
    ASSERT_TRUE(done);
    EXPECT_EQ(ec, asio::error::connection_reset);
}

TEST(Deadlines, APassedDeadlineTimesOutOnlyItsOwnWait) {
    fixture f;
    auto [a, b] = memory_stream::pair(f.io, f.clock, &f.deadlines);
    EXPECT_EQ(f.deadlines.size(), 4u); // two per stream
    std::string got_a, got_b;
    error_code ec_a, ec_b;
    bool done_a = false, done_b = false;
    read_once(f, *a, got_a, ec_a, done_a); // 5 s from now
    f.settle();
    f.clock += 3s;
    read_once(f, *b, got_b, ec_b, done_b); // 5 s from now + 3 s
    f.settle();
    f.pass(3s);
    EXPECT_TRUE(done_a);
    EXPECT_EQ(ec_a, asio::error::timed_out);
    EXPECT_FALSE(done_b);
    f.pass(3s);
    EXPECT_TRUE(done_b);
    EXPECT_EQ(ec_b, asio::error::timed_out);
}

TEST(Deadlines, AHeldDeadlineIsRenewedNotExpired) {
    fixture f;
    auto [a, b] = memory_stream::pair(f.io, f.clock, &f.deadlines);
    std::string got;
    error_code ec;
    bool done = false;
    read_once(f, *a, got, ec, done);
    f.settle();
    a->reading.held = true;
    f.pass(6s);
    EXPECT_FALSE(done);
    a->reading.held = false;
    f.pass(6s);
    EXPECT_TRUE(done);
    EXPECT_EQ(ec, asio::error::timed_out);
}

TEST(Deadlines, AStreamLeavesItsListWhenDestroyed) {
    fixture f;
    {
        auto [a, b] = memory_stream::pair(f.io, f.clock, &f.deadlines);
        EXPECT_EQ(f.deadlines.size(), 4u);
    }
    EXPECT_EQ(f.deadlines.size(), 0u);
}

} // namespace
} // namespace ferry::net
