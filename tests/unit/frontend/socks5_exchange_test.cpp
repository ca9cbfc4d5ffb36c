// A whole SOCKS5 exchange over in-memory streams: the real front end and exchange code on
// the test host (tests/unit/proxy/test_host.h), with a scripted origin.
#include "../proxy/test_host.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace ferry::testing {
namespace {

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list)
        s += char(b);
    return s;
}

std::string connect_to(std::string_view name, int port) {
    return bytes({5, 1, 0, 3, int(name.size())}) + std::string(name) +
           bytes({port >> 8, port & 0xff});
}

TEST(Socks5Exchange, TunnelsBytesBothWaysAndLogsSocks5) {
    test_host h;
    origin_script echo;
    echo.tunnel_echo = true;
    h.origins.push_back(echo);
    auto c = h.connect_socks5_client();
    c.send(bytes({5, 1, 0}));
    h.settle();
    c.read();
    EXPECT_EQ(c.received, bytes({5, 0}));
    c.send(connect_to("Origin.test", 443) + "early bytes|");
    h.settle();
    c.send("more bytes");
    h.settle();
    c.read();
    // BND is 0.0.0.0:0 here: an in-memory upstream has no socket address.
    EXPECT_EQ(c.received, bytes({5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0}) + "early bytes|more bytes");
    EXPECT_EQ(h.connects, std::vector<std::string>{"origin.test:443"}); // lower-cased
    c.end->shutdown_send();
    h.settle();
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].method, "SOCKS5");
    EXPECT_EQ(h.records[0].target, "Origin.test:443");
    EXPECT_EQ(h.records[0].request_line, "SOCKS5 Origin.test:443");
    EXPECT_EQ(h.records[0].status, 200);
    EXPECT_EQ(h.records[0].cause, "");
    EXPECT_EQ(h.metrics().socks5.replies[0].load(), 1u);
}

TEST(Socks5Exchange, ARefusedConnectIsReply5AndACauseNamingIt) {
    test_host h;
    h.connect_failure =
        core::error{core::errc::connect_failed,
                    "ferry: cannot connect to origin.test:80 (Connection refused)", ECONNREFUSED};
    auto c = h.connect_socks5_client();
    c.send(bytes({5, 1, 0}) + connect_to("origin.test", 80));
    h.settle();
    EXPECT_TRUE(c.read());
    EXPECT_EQ(c.received, bytes({5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0}));
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 502);
    EXPECT_EQ(h.records[0].cause, "ferry: socks5: connection refused (reply 0x05): cannot connect "
                                  "to origin.test:80 (Connection refused)");
    EXPECT_EQ(h.metrics().socks5.replies[5].load(), 1u);
}

TEST(Socks5Exchange, APortOutsideSocksPortsIsNotAllowed) {
    config::settings s;
    s.socks_ports = {443};
    test_host h(s);
    auto c = h.connect_socks5_client();
    c.send(bytes({5, 1, 0}) + connect_to("origin.test", 25));
    h.settle();
    EXPECT_TRUE(c.read());
    EXPECT_EQ(c.received, bytes({5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0}));
    ASSERT_EQ(h.records.size(), 1u);
    EXPECT_EQ(h.records[0].status, 403);
    EXPECT_TRUE(h.connects.empty());
    EXPECT_NE(h.records[0].cause.find("(--socks-ports)"), std::string::npos) << h.records[0].cause;
}

TEST(Socks5Exchange, MalformedMessagesGetTheirReplyOrAClose) {
    struct one {
        std::string send, expect;
    };
    for (const auto& [send, expect] : {
             one{bytes({4, 1, 0, 80}), ""},                         // SOCKS4: closed
             one{bytes({5, 0}), bytes({5, 0xff})},                  // no methods
             one{bytes({5, 1, 2}), bytes({5, 0xff})},               // password, no htpasswd
             one{bytes({5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80}), // BIND
                 bytes({5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0})},
             one{bytes({5, 1, 0, 5, 1, 0, 9}), // unknown ATYP
                 bytes({5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0})},
             one{bytes({5, 1, 0, 5, 1, 0, 3, 3, 'a', ' ', 'b', 0, 80}), // a bad name
                 bytes({5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0})},
         }) {
        test_host h;
        auto c = h.connect_socks5_client();
        c.send(send);
        h.settle();
        EXPECT_TRUE(c.read()) << "ferry must close";
        EXPECT_EQ(c.received, expect);
        EXPECT_TRUE(h.records.empty());
    }
}

TEST(Socks5Exchange, AStalledHandshakeEndsAtTheHeaderTimeout) {
    test_host h;
    auto c = h.connect_socks5_client();
    c.send(bytes({5, 1}));
    h.settle();
    EXPECT_FALSE(c.read());
    h.advance(h.settings()->header_timeout + std::chrono::seconds(2));
    EXPECT_TRUE(c.read());
    EXPECT_EQ(c.received, "");
    EXPECT_EQ(h.metrics().socks5.handshake_failures[5].load(), 1u); // timeout
}

} // namespace
} // namespace ferry::testing
