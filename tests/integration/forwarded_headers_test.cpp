// Forwarding headers (issue 18), as the origin sees them: X-Forwarded-For in each of Squid's
// forwarded_for modes for a trusted and an untrusted client, RFC 7239 Forwarded from IPv4 and
// IPv6 clients, and via = false (no Via either way, for HTTP/1 and HTTP/2 clients). The
// origin's /headers answers with the head it received.
#include "support/command.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/temp_file.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>

using namespace ferry_test;

namespace {

// What a client behind another proxy sends: that proxy's X-Forwarded-For and Forwarded.
std::string request_from_behind(const test_origin& origin) {
    return "GET " + origin.url("/headers") + " HTTP/1.1\r\nHost: " + origin.authority() +
           "\r\nX-Forwarded-For: 198.51.100.7\r\nForwarded: for=198.51.100.7\r\n\r\n";
}

// The head the origin received, through a ferry started with `args`, from 127.0.0.1.
std::string head_at_origin(const std::vector<std::string>& args) {
    test_origin origin;
    ferry_process ferry(args);
    EXPECT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    EXPECT_TRUE(s.send_all(request_from_behind(origin)));
    const auto response = s.read_response(10s);
    EXPECT_EQ(status_of(response), 200) << printable(response);
    return std::string(body_of(response));
}

std::vector<std::string> xff(const std::vector<std::string>& args) {
    return header_values(head_at_origin(args), "x-forwarded-for");
}

using values = std::vector<std::string>;

// 127.0.0.1 is trusted in one, not in the other (a CIDR that does not hold it).
const std::vector<std::string> trusted = {"--trusted-forwarders", "127.0.0.0/8"};
const std::vector<std::string> untrusted = {"--trusted-forwarders", "10.0.0.0/8,192.0.2.1"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace

TEST(ForwardedFor, OnByDefaultAppendsForATrustedClientAndReplacesForOthers) {
    EXPECT_EQ(xff(trusted), (values{"198.51.100.7, 127.0.0.1"}));
    EXPECT_EQ(xff(untrusted), (values{"127.0.0.1"}));
    EXPECT_EQ(xff({}), (values{"127.0.0.1"})); // nobody is trusted unless named
}

TEST(ForwardedFor, OffSaysUnknown) {
    EXPECT_EQ(xff(with({"--forwarded-for", "off"}, trusted)), (values{"198.51.100.7, unknown"}));
    EXPECT_EQ(xff(with({"--forwarded-for", "off"}, untrusted)), (values{"unknown"}));
}

TEST(ForwardedFor, TruncateSendsTheClientAlone) {
    EXPECT_EQ(xff(with({"--forwarded-for", "truncate"}, trusted)), (values{"127.0.0.1"}));
    EXPECT_EQ(xff(with({"--forwarded-for", "truncate"}, untrusted)), (values{"127.0.0.1"}));
}

TEST(ForwardedFor, DeleteSendsNone) {
    EXPECT_EQ(xff(with({"--forwarded-for", "delete"}, trusted)), values{});
    EXPECT_EQ(xff(with({"--forwarded-for", "delete"}, untrusted)), values{});
}

TEST(ForwardedFor, TheConfigurationFileSaysTheSame) {
    temp_file config("forwarded_for = \"off\"\ntrusted_forwarders = [\"127.0.0.1\"]\n"
                     "forwarded = true\nvia = false\n");
    const auto head = head_at_origin({"--config", config.path()});
    EXPECT_EQ(header_values(head, "x-forwarded-for"), (values{"198.51.100.7, unknown"}));
    EXPECT_EQ(header_values(head, "via"), values{}) << printable(head);
    const auto f = header_values(head, "forwarded");
    ASSERT_EQ(f.size(), 1u) << printable(head);
    EXPECT_TRUE(f[0].starts_with("for=198.51.100.7, for=127.0.0.1;by=\"127.0.0.1:")) << f[0];
}

TEST(ForwardedFor, BadValuesAreRefusedAtStart) {
    auto r = run_ferry({"--forwarded-for", "transparent"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find(R"(expected "on", "off", "truncate" or "delete")"), std::string::npos)
        << r.err;
    r = run_ferry({"--trusted-forwarders", "10.0.0.0/99"});
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find("--trusted-forwarders"), std::string::npos) << r.err;
}

TEST(Forwarded, IPv4ClientReplacedOrExtended) {
    auto head = head_at_origin(with({"--forwarded", "on"}, untrusted));
    auto f = header_values(head, "forwarded");
    ASSERT_EQ(f.size(), 1u) << printable(head);
    EXPECT_TRUE(
        std::regex_match(f[0], std::regex(R"(for=127\.0\.0\.1;by="127\.0\.0\.1:\d+";proto=http)")))
        << f[0];

    head = head_at_origin(with({"--forwarded", "on"}, trusted));
    f = header_values(head, "forwarded");
    ASSERT_EQ(f.size(), 1u) << printable(head);
    EXPECT_TRUE(std::regex_match(
        f[0],
        std::regex(R"(for=198\.51\.100\.7, for=127\.0\.0\.1;by="127\.0\.0\.1:\d+";proto=http)")))
        << f[0];
}

TEST(Forwarded, OffLetsTheIncomingValuePass) {
    const auto head = head_at_origin({});
    EXPECT_EQ(header_values(head, "forwarded"), values{"for=198.51.100.7"}) << printable(head);
}

TEST(Forwarded, IPv6ClientIsQuotedAndBracketed) {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
    test_origin origin;
    ferry_process ferry({"--listen", "[::1]:0", "--forwarded", "on", "--trusted-forwarders", "::1"},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = connect_to_v6(ferry.port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all(request_from_behind(origin)));
    const auto response = s.read_response(10s);
    ASSERT_EQ(status_of(response), 200) << printable(response);
    const auto head = std::string(body_of(response));
    EXPECT_EQ(header_values(head, "forwarded"),
              values{fmt::format("for=198.51.100.7, for=\"[::1]\";by=\"[::1]:{}\";proto=http",
                                 ferry.port())})
        << printable(head);
    EXPECT_EQ(header_values(head, "x-forwarded-for"), values{"198.51.100.7, ::1"});
}

TEST(Via, OffRemovesViaBothWaysForHttp1Clients) {
    test_origin origin;
    ferry_process ferry({"--via", "off"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("GET " + origin.url("/headers") +
                           " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
    const auto response = s.read_response(10s);
    ASSERT_EQ(status_of(response), 200) << printable(response);
    EXPECT_EQ(header_values(body_of(response), "via"), values{}) << printable(response);
    EXPECT_EQ(header_values(head_of(response), "via"), values{}) << printable(response);
    // ferry's own replies keep naming it in Server.
    auto page = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(page.send_all("GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"));
    EXPECT_EQ(header_value(head_of(page.read_response(10s)), "server"), "ferry");
}

TEST(Via, OnPutsFerrysOwnNameBackOverTheFilesName) {
    temp_file config("via = \"corp\"\n");
    auto head = head_at_origin({"--config", config.path()});
    EXPECT_EQ(header_values(head, "via"), values{"1.1 corp"}) << printable(head);
    head = head_at_origin({"--config", config.path(), "--via", "on"});
    EXPECT_EQ(header_values(head, "via"), values{"1.1 ferry"}) << printable(head);
}

// HTTP/2 clients (h2c prior knowledge): the same request head goes upstream through the same
// HTTP/1 client, and the answer's HEADERS carry no via.
TEST(Via, OffRemovesViaForHttp2ClientsAndTheyGetForwardingFields) {
    test_origin origin;
    ferry_process ferry({"--http2-cleartext", "on", "--via", "off", "--forwarded", "on"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const std::string script = R"(
import socket, sys, h2.connection, h2.config, h2.events
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", sys.argv[2]),
                   (":path", "/headers"), ("x-forwarded-for", "198.51.100.7")], end_stream=True)
s.sendall(c.data_to_send())
body, done = b"", False
while not done:
    data = s.recv(65536)
    if not data: break
    for e in c.receive_data(data):
        if isinstance(e, h2.events.ResponseReceived):
            for k, v in e.headers: print("H %s: %s" % (k.decode(), v.decode()))
        elif isinstance(e, h2.events.DataReceived):
            body += e.data
            c.acknowledge_received_data(len(e.data), e.stream_id)
        elif isinstance(e, h2.events.StreamEnded): done = True
    s.sendall(c.data_to_send())
sys.stdout.write(body.decode())
)";
    auto r = run_program(
        {"/usr/bin/python3", "-c", script, std::to_string(ferry.port()), origin.authority()}, 20s);
    if (r.exit_code() != 0 && r.err.find("No module named") != std::string::npos)
        GTEST_SKIP() << "python3-h2 is not installed";
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_NE(r.out.find("H :status: 200"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("H via:"), std::string::npos) << r.out;
    const auto sent = r.out.substr(r.out.find("GET /headers"));
    EXPECT_EQ(header_values(sent, "via"), values{}) << printable(sent);
    EXPECT_EQ(header_values(sent, "x-forwarded-for"), values{"127.0.0.1"}) << printable(sent);
    const auto f = header_values(sent, "forwarded");
    ASSERT_EQ(f.size(), 1u) << printable(sent);
    EXPECT_EQ(f[0], fmt::format("for=127.0.0.1;by=\"127.0.0.1:{}\";proto=http", ferry.port()));
}

// Behind a load balancer, the client is the address its PROXY protocol header carries.
TEST(ForwardedFor, TheClientIsThePROXYProtocolsAddress) {
    test_origin origin;
    // The documentation addresses the headers carry are not loopback: a rule lets them in.
    temp_file rules(
        "[[acl]]\naction = \"allow\"\nclient = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n");
    // A PROXY protocol listener turns safe destinations on; the origin is on loopback.
    ferry_process ferry({"--listen", "127.0.0.1:0?proxy_protocol_from=127.0.0.1", "--forwarded",
                         "on", "--safe-destinations", "off", "--config", rules.path()},
                        false);
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto ask = [&](const std::string& header) {
        auto s = tcp_stream::connect_to(ferry.port());
        EXPECT_TRUE(s.send_all(header + "GET " + origin.url("/headers") +
                               " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
        const auto response = s.read_response(10s);
        EXPECT_EQ(status_of(response), 200) << printable(response);
        return std::string(body_of(response));
    };
    const auto by = fmt::format("by=\"127.0.0.1:{}\";proto=http", ferry.port());
    auto head = ask(fmt::format("PROXY TCP4 192.0.2.7 127.0.0.1 5000 {}\r\n", ferry.port()));
    EXPECT_EQ(header_values(head, "x-forwarded-for"), values{"192.0.2.7"}) << printable(head);
    EXPECT_EQ(header_values(head, "forwarded"), values{"for=192.0.2.7;" + by});
    head = ask(fmt::format("PROXY TCP6 2001:db8::5 ::1 5000 {}\r\n", ferry.port()));
    EXPECT_EQ(header_values(head, "x-forwarded-for"), values{"2001:db8::5"}) << printable(head);
    EXPECT_EQ(header_values(head, "forwarded"), values{"for=\"[2001:db8::5]\";" + by})
        << printable(head);
}
