// What a shared upstream pool and a parent proxy must never do (issue 3 review): hand one
// client's connection-bound login to another, pass on a parent's 407 the client cannot
// answer, echo ferry's parent credentials back through TRACE, call a parent loop a bad
// request, or print a parent password.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/requests.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

// An origin that, like an NTLM server, treats a connection as logged in once a request on
// it carried `Authorization: NTLM ...`, and then answers every request on it as that user.
void ntlm_like(origin_connection& c) {
    bool logged_in = false;
    for (int i = 0; i < 20; ++i) {
        auto head = c.read_head(5s);
        if (head.empty()) return;
        if (head.find("\r\nAuthorization: NTLM ") != std::string::npos) logged_in = true;
        const std::string body = logged_in ? "secret of alice" : "who are you?";
        std::string answer = logged_in ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 401 Unauthorized\r\n";
        if (!logged_in) answer += "WWW-Authenticate: NTLM\r\n";
        answer += fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
        if (!c.send(answer)) return;
    }
}

} // namespace

TEST(UpstreamSafety, ConnectionBoundLoginNeverServesAnotherClient) {
    test_origin origin(ntlm_like);
    ferry_process ferry({"--workers", "1"}); // one pool for both clients
    ASSERT_TRUE(ferry.started()) << ferry.err();

    auto alice = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(alice.send_all(get(origin, "/private", "Authorization: NTLM TlRMTVNTUAAB\r\n")));
    auto r = alice.read_response(5s);
    ASSERT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(body_of(r), "secret of alice");

    // Bob, on his own client connection, while Alice's stays open and after it closed.
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE(round == 0 ? "Alice still connected" : "Alice gone");
        auto bob = tcp_stream::connect_to(ferry.port());
        ASSERT_TRUE(bob.send_all(get(origin, "/private")));
        auto b = bob.read_response(5s);
        EXPECT_EQ(status_of(b), 401) << printable(b);
        EXPECT_EQ(body_of(b), "who are you?");
        if (round == 0) {
            // Alice's next request still goes on her logged-in connection.
            ASSERT_TRUE(alice.send_all(get(origin, "/again")));
            auto again = alice.read_response(5s);
            EXPECT_EQ(status_of(again), 200) << printable(again);
            EXPECT_EQ(body_of(again), "secret of alice");
            alice.close();
            EXPECT_TRUE(origin.wait_closed(1, 3s)) << "Alice's connection outlived her";
        }
    }
}

TEST(UpstreamSafety, ParentRefusingFerrysCredentialsIsA502) {
    test_origin parent([](origin_connection& c) {
        if (c.read_head(5s).empty()) return;
        c.send("HTTP/1.1 407 Proxy Authentication Required\r\n"
               "Proxy-Authenticate: Basic realm=\"parent\"\r\nContent-Length: 6\r\n\r\ndenied");
    });
    ferry_process ferry({"--parent", "http://ferry:wrong@" + parent.authority()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("GET http://origin.invalid/ HTTP/1.1\r\nHost: origin.invalid\r\n\r\n"));
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 502) << printable(r);
    EXPECT_EQ(body_of(r), "ferry: " + parent.authority() +
                              " (parent proxy) refused ferry's credentials (HTTP/1.1 407 Proxy "
                              "Authentication Required)\n");
    EXPECT_EQ(header_value(r, "proxy-authenticate"), "") << printable(r);
}

TEST(UpstreamSafety, TraceNeverCarriesTheParentsCredentials) {
    test_origin parent([](origin_connection& c) {
        auto head = c.read_head(5s);
        if (head.empty()) return;
        // A parent that echoes TRACE, as RFC 9110 §9.3.8 lets the final recipient do.
        c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: message/http\r\n"
                           "Content-Length: {}\r\n\r\n{}",
                           head.size(), head));
    });
    ferry_process ferry({"--parent", "http://ferry:topsecret@" + parent.authority()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("TRACE http://origin.invalid/ HTTP/1.1\r\nHost: origin.invalid\r\n"
                           "Max-Forwards: 1\r\n\r\n"));
    auto r = s.read_response(5s);
    ASSERT_EQ(status_of(r), 200) << printable(r);
    EXPECT_NE(body_of(r).find("TRACE http://origin.invalid/ HTTP/1.1"), std::string::npos)
        << printable(r);
    EXPECT_EQ(body_of(r).find("Proxy-Authorization"), std::string::npos) << printable(r);
    EXPECT_EQ(parent.received().find("Proxy-Authorization"), std::string::npos);
}

TEST(UpstreamSafety, ParentThatIsFerryItselfIsA502) {
    const int port = unused_port();
    const auto self = "127.0.0.1:" + std::to_string(port);
    ferry_process ferry({"--listen", self, "--parent", "http://" + self}, false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(port);
    ASSERT_TRUE(s.send_all("GET http://origin.invalid/ HTTP/1.1\r\nHost: origin.invalid\r\n\r\n"));
    auto r = s.read_response(5s);
    EXPECT_EQ(status_of(r), 502) << printable(r);
    EXPECT_EQ(body_of(r), "ferry: parent proxy " + self + " is this proxy itself\n");
}

TEST(UpstreamSafety, BadParentValueNeverPrintsThePassword) {
    auto r = run_ferry({"--parent", "http://user:hunter2@127.0.0.1:99999"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("--parent http://user:***@127.0.0.1:99999: expected a port 1-65535"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

TEST(UpstreamSafety, WithoutAPoolTheFlowLogSaysTheConnectionClosed) {
    test_origin origin;
    ferry_process ferry({"--flow", "--pool-per-host", "0"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all(get(origin, "/size/10")));
    EXPECT_EQ(status_of(s.read_response(5s)), 200);
    EXPECT_TRUE(ferry.wait_for_out("[SRV disconnected from " + origin.authority() + "]"))
        << ferry.out();
    EXPECT_EQ(ferry.out().find("kept for reuse"), std::string::npos) << ferry.out();
}
