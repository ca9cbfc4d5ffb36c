// Forwarding loops (issue 18) with Via turned off, so that only ferry's own means can find
// them: two ferries, each the other's parent (the X-Ferry-Loop token), one ferry whose parent
// is itself by a path its address check cannot see (a relay), and a wildcard listener whose
// host addresses (getifaddrs) are recognised as ferry itself, inside a network namespace.
#include "support/command.h"
#include "support/eventually.h"
#include "support/ferry_process.h"
#include "support/netns.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <regex>
#include <unistd.h>

using namespace ferry_test;

namespace {

constexpr std::string_view loop_cause =
    "ferry: forwarding loop: this request has already passed through this proxy";

std::string round_trip(int port, const std::string& request) {
    auto s = tcp_stream::connect_to(port);
    if (!s.ok() || !s.send_all(request)) return {};
    return s.read_response(10s);
}

std::string get_request(const std::string& authority, const std::string& path = "/") {
    return "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

std::string connect_request(const std::string& authority) {
    return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

std::size_t open_fds(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

std::vector<std::string> listening_on(int port, const std::string& parent) {
    return {"--listen",     fmt::format("127.0.0.1:{}", port),
            "--parent",     parent,
            "--via",        "off",
            "--access-log", "off"};
}

// 508 with the cause as its one-line body.
void expect_loop(const std::string& response) {
    EXPECT_EQ(status_of(response), 508) << printable(response);
    EXPECT_EQ(response.substr(0, response.find("\r\n")), "HTTP/1.1 508 Loop Detected");
    EXPECT_EQ(body_of(response), std::string(loop_cause) + "\n") << printable(response);
}

} // namespace

TEST(Loop, TwoFerriesEachTheOthersParentAnswer508Quickly) {
    const int a_port = unused_port(), b_port = unused_port();
    ASSERT_NE(a_port, b_port);
    ferry_process a(listening_on(a_port, fmt::format("http://127.0.0.1:{}", b_port)), false);
    ASSERT_TRUE(a.started()) << a.err();
    ferry_process b(listening_on(b_port, fmt::format("http://127.0.0.1:{}", a_port)), false);
    ASSERT_TRUE(b.started()) << b.err();
    test_origin origin; // never reached: every route leads to the other ferry
    const auto a_fds = open_fds(a.pid()), b_fds = open_fds(b.pid());

    for (int port : {a_port, b_port}) {
        const auto started = std::chrono::steady_clock::now();
        expect_loop(round_trip(port, get_request(origin.authority(), "/size/10")));
        EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "port " << port;
    }
    // A CONNECT goes round the same way; each ferry on the way answers 508.
    const auto started = std::chrono::steady_clock::now();
    const auto tunnel = round_trip(a_port, connect_request("127.0.0.1:443"));
    EXPECT_EQ(status_of(tunnel), 508) << printable(tunnel);
    EXPECT_NE(tunnel.find("forwarding loop"), std::string::npos) << printable(tunnel);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_EQ(origin.connections(), 0);

    // One round each: a handful of connections, not one per hop until the fds run out.
    EXPECT_LT(open_fds(a.pid()), a_fds + 8) << "ferry A's open files grew";
    EXPECT_LT(open_fds(b.pid()), b_fds + 8) << "ferry B's open files grew";
    EXPECT_TRUE(a.running());
    EXPECT_TRUE(b.running());
}

// What a parent gets: the incoming list with this ferry's token (16 hex digits) appended; an
// origin gets no X-Ferry-Loop at all.
TEST(Loop, TheTokenGoesToParentsOnlyAndExtendsTheIncomingList) {
    test_origin parent([](origin_connection& c) {
        for (int i = 0; i < 10; ++i) {
            const auto head = c.read_head();
            if (head.empty()) return;
            c.send(
                fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", head.size(), head));
        }
    });
    test_origin origin;
    temp_file config("parent = \"http://" + parent.authority() + "\"\nvia = false\n");
    ferry_process child({"--config", config.path()});
    ASSERT_TRUE(child.started()) << child.err();
    const auto request = "GET http://origin.test/ HTTP/1.1\r\nHost: origin.test\r\n"
                         "X-Ferry-Loop: 0123456789abcdef\r\n\r\n";
    const auto first = round_trip(child.port(), request);
    ASSERT_EQ(status_of(first), 200) << printable(first);
    const auto list = header_values(body_of(first), "x-ferry-loop");
    ASSERT_EQ(list.size(), 1u) << printable(first);
    EXPECT_TRUE(std::regex_match(list[0], std::regex("0123456789abcdef, [0-9a-f]{16}"))) << list[0];
    // The same token on every request of this process, a reload (SIGHUP) included.
    const auto again = header_values(body_of(round_trip(child.port(), request)), "x-ferry-loop");
    EXPECT_EQ(again, list);
    ASSERT_EQ(::kill(child.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] {
        return child.err().find("configuration reloaded") != std::string::npos;
    })) << child.err();
    const auto reloaded = header_values(body_of(round_trip(child.port(), request)), "x-ferry-loop");
    EXPECT_EQ(reloaded, list);

    ferry_process direct({"--via", "off"});
    ASSERT_TRUE(direct.started()) << direct.err();
    const auto at_origin =
        round_trip(direct.port(), "GET " + origin.url("/headers") +
                                      " HTTP/1.1\r\nHost: " + origin.authority() +
                                      "\r\nX-Ferry-Loop: 0123456789abcdef\r\n\r\n");
    ASSERT_EQ(status_of(at_origin), 200) << printable(at_origin);
    EXPECT_TRUE(header_values(body_of(at_origin), "x-ferry-loop").empty()) << printable(at_origin);
}

// The parent is ferry itself by an address it cannot know is its own (a port forward, a NAT):
// only the token finds the loop. The relay passes one request and its answer per connection.
TEST(Loop, AFerryWhoseParentLeadsBackToItselfAnswers508) {
    const int port = unused_port();
    test_origin relay([port](origin_connection& c) {
        const auto head = c.read_head();
        if (head.empty()) return;
        auto to_ferry = tcp_stream::connect_to(port);
        if (!to_ferry.ok() || !to_ferry.send_all(head)) return;
        c.send(to_ferry.read_response(10s));
    });
    ferry_process a(listening_on(port, "http://" + relay.authority()), false);
    ASSERT_TRUE(a.started()) << a.err();
    test_origin origin;
    const auto started = std::chrono::steady_clock::now();
    expect_loop(round_trip(port, get_request(origin.authority())));
    const auto tunnel = round_trip(port, connect_request("127.0.0.1:443"));
    EXPECT_EQ(status_of(tunnel), 508) << printable(tunnel);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_EQ(origin.connections(), 0);
}

// The parent is ferry's own listener by another name: its address check refuses it at once.
TEST(Loop, AParentNamingFerrysOwnListenerIsRefusedWithoutSendingAnything) {
    const int port = unused_port();
    ferry_process a(listening_on(port, fmt::format("http://localhost:{}", port)), false);
    ASSERT_TRUE(a.started()) << a.err();
    const auto r = round_trip(port, get_request("origin.test"));
    EXPECT_EQ(status_of(r), 502) << printable(r);
    EXPECT_EQ(body_of(r),
              fmt::format("ferry: parent proxy localhost:{} is this proxy itself\n", port))
        << printable(r);
}

// --- a wildcard listener in a network namespace of the test's own ------------------------

namespace {

// A network namespace of the test's own (only lo) with 10.18.0.1/32 added to lo; empty when
// ready, else why the test is skipped.
std::string enter_private_network(std::unique_ptr<network_namespace>& net) {
    net = std::make_unique<network_namespace>();
    if (!net->ok()) return net->skip_reason();
    if (!net->add_address("10.18.0.1/32")) return "ip failed: " + net->problem();
    return {};
}

} // namespace

TEST(Loop, AWildcardListenerKnowsTheHostsAddressesAsItself) {
    std::unique_ptr<network_namespace> net;
    if (auto why = enter_private_network(net); !why.empty()) GTEST_SKIP() << why;
    const int port = unused_port();
    const auto self = fmt::format("10.18.0.1:{}", port);
    ferry_process ferry({"--listen", fmt::format("0.0.0.0:{}", port), "--via", "off"}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    // Addressed to ferry by an interface address: its own page, not a request to itself.
    const auto page = round_trip(port, get_request(self));
    EXPECT_EQ(status_of(page), 200) << printable(page);
    EXPECT_EQ(header_value(head_of(page), "server"), "ferry");
    const auto post = round_trip(port, "POST http://" + self + "/ HTTP/1.1\r\nHost: " + self +
                                           "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(status_of(post), 400) << printable(post);
    EXPECT_EQ(body_of(post), "ferry: request addressed to the proxy itself\n");
}

TEST(Loop, AWildcardListenersParentOnAHostAddressIsItself) {
    std::unique_ptr<network_namespace> net;
    if (auto why = enter_private_network(net); !why.empty()) GTEST_SKIP() << why;
    const int port = unused_port();
    ferry_process ferry({"--listen", fmt::format("0.0.0.0:{}", port), "--via", "off", "--parent",
                         fmt::format("http://10.18.0.1:{}", port)},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto r = round_trip(port, get_request("origin.test"));
    EXPECT_EQ(status_of(r), 502) << printable(r);
    EXPECT_EQ(body_of(r),
              fmt::format("ferry: parent proxy 10.18.0.1:{} is this proxy itself\n", port))
        << printable(r);
}
