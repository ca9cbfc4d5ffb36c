// Graceful shutdown and tunnels: SIGTERM lets an open tunnel carry on to its end (within the
// shutdown timeout), then ferry exits 0; past the timeout it is cut.
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fmt/format.h>
#include <sys/wait.h>
#include <thread>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// An origin that, once connected, sends ten pieces 150 ms apart, then closes.
void trickle(origin_connection& c) {
    for (int i = 0; i < 10; ++i) {
        if (!c.send(fmt::format("piece {}\n", i))) return;
        std::this_thread::sleep_for(150ms);
    }
}

std::string expected_trickle(int pieces) {
    std::string out;
    for (int i = 0; i < pieces; ++i)
        out += fmt::format("piece {}\n", i);
    return out;
}

tcp_stream open_tunnel(const ferry_process& ferry, const test_origin& origin) {
    auto s = tcp_stream::connect_to(ferry.port());
    s.send_all(fmt::format("CONNECT {} HTTP/1.1\r\nHost: {}\r\n\r\n", origin.authority(),
                           origin.authority()));
    return s;
}

} // namespace

TEST(Shutdown, AnOpenTunnelCarriesOnToItsEnd) {
    test_origin origin(trickle);
    ferry_process ferry({"--connect-ports", "any", "--shutdown-timeout", "5"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = open_tunnel(ferry, origin);
    auto head = s.read_response(3s, true);
    ASSERT_EQ(status_of(head), 200) << printable(head);
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    const auto got = s.read_until_close(5s);
    EXPECT_EQ(std::string(body_of(head)) + got, expected_trickle(10)) << printable(got);
    const int status = ferry.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
}

TEST(Shutdown, ATunnelPastTheShutdownTimeoutIsCut) {
    test_origin origin(trickle);
    ferry_process ferry({"--connect-ports", "any", "--shutdown-timeout", "0.5"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = open_tunnel(ferry, origin);
    auto head = s.read_response(3s, true);
    ASSERT_EQ(status_of(head), 200) << printable(head);
    const auto signalled = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(ferry.pid(), SIGTERM), 0);
    const auto got = std::string(body_of(head)) + s.read_until_close(5s);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 1500ms);
    EXPECT_LT(got.size(), expected_trickle(10).size()) << printable(got);
    const int status = ferry.stop(SIGTERM, 5s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
    // The access log blames the shutdown, not either side.
    EXPECT_NE(ferry.out().find("\"ferry: shutting down: the tunnel cut when the drain time ran out "
                               "(--shutdown-timeout 0.5s)"),
              std::string::npos)
        << ferry.out();
}

// An idle client connected to a listener that sniffs its first bytes (SOCKS5 or HTTP/2 on an
// http:// listener; Chromium preconnects so): SIGTERM closes it, and ferry exits at once,
// not after the shutdown timeout, nor never.
TEST(Shutdown, AnIdleClientBeingSniffedDoesNotHoldTheExit) {
    for (const char* option : {"--socks5-on-http", "--http2-cleartext"}) {
        SCOPED_TRACE(option);
        ferry_process ferry({option, "on", "--shutdown-timeout", "2", "--header-timeout", "30"});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto s = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(s.ok());
        std::this_thread::sleep_for(100ms); // accepted, its first bytes awaited
        const auto started = std::chrono::steady_clock::now();
        const int status = ferry.stop(SIGTERM, 4s);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << ferry.err();
        EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
        EXPECT_TRUE(s.peer_closed(1s));
    }
}
