// --parent and --direct (issue 3): ferry → ferry → origin, a stand-in parent that records
// what ferry sends it (absolute-form, Proxy-Authorization, CONNECT), a parent that is down,
// the --direct rules, and bad values refused at start. Chains through tinyproxy and Squid
// are in parent_peers_test.cpp.
#include "support/command.h"
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

using namespace ferry_test;

namespace {

// base64("alice:s:cret"): the credentials of --parent http://alice:s%3Acret@…, decoded.
constexpr std::string_view alice_basic = "Basic YWxpY2U6czpjcmV0";
// What a client might send for itself; ferry must never pass it on.
constexpr std::string_view client_basic = "Basic Y2xpZW50OmNsaWVudA==";

constexpr std::string_view parent_body = "hello from the parent";

std::string connect_head(const std::string& authority) {
    return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

std::string first_line(std::string_view message) {
    return std::string(message.substr(0, message.find("\r\n")));
}

// The request heads in what a parent received, when no request had a body.
std::vector<std::string> heads_in(std::string_view received) {
    std::vector<std::string> heads;
    for (std::size_t start = 0; start < received.size() && heads.size() < 100;) {
        auto end = received.find("\r\n\r\n", start);
        if (end == std::string_view::npos) break;
        heads.emplace_back(received.substr(start, end + 4 - start));
        start = end + 4;
    }
    return heads;
}

// Echoes the bytes of a tunnel one at a time until the peer stops sending, recording them.
void echo_tunnel(origin_connection& c) {
    for (int i = 0; i < 100'000; ++i) {
        auto got = c.stream.read_exact(1, 5s);
        if (got.empty()) return;
        c.received += got;
        if (!c.send(got)) return;
    }
}

// A stand-in parent proxy: answers every request with a chunked body (parent_body) on a kept
// connection; answers CONNECT with `connect_answer`, and after a 2xx echoes the tunnel.
test_origin::handler
fake_parent(std::string connect_answer = "HTTP/1.1 200 Connection established\r\n\r\n") {
    return [connect_answer](origin_connection& c) {
        for (int i = 0; i < 100; ++i) {
            auto head = c.read_head();
            if (head.empty()) return;
            if (head.starts_with("CONNECT ")) {
                c.send(connect_answer);
                if (status_of(connect_answer) / 100 == 2) echo_tunnel(c);
                return;
            }
            bool ok = true;
            c.read_body(head, ok);
            if (!ok) return;
            c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Parent: fake\r\n\r\n"
                   "8\r\nhello fr\r\nd\r\nom the parent\r\n0\r\n\r\n");
        }
    };
}

// One request on a new connection; the whole response (raw).
std::string exchange(int port, const std::string& request, bool head_only = false) {
    auto s = tcp_stream::connect_to(port);
    if (!s.send_all(request)) return {};
    return s.read_response(10s, head_only);
}

std::string get_request(const std::string& url, const std::string& host) {
    return "GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

// A 502 from ferry whose one-line body names `parent` ("127.0.0.1:N").
void expect_502_naming(const std::string& response, const std::string& parent) {
    EXPECT_EQ(status_of(response), 502) << printable(response);
    const auto body = std::string(body_of(response));
    EXPECT_TRUE(body.starts_with("ferry: ")) << printable(response);
    EXPECT_NE(body.find(parent), std::string::npos)
        << "the answer should name the parent " << parent << ": " << printable(response);
    EXPECT_EQ(body.find('\n'), body.size() - 1) << "one line: " << printable(body);
}

} // namespace

// ferry → ferry → origin ---------------------------------------------------------------

TEST(ParentChain, GetHeadChunkedAndKeepAliveThroughTwoFerries) {
    test_origin origin;
    ferry_process parent({"--via", "parent"});
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--via", "child", "--parent", parent.proxy_url()});
    ASSERT_TRUE(child.started()) << child.err();
    curl_client client;

    auto get = client.perform({.url = origin.url("/size/1000"), .proxy = child.proxy_url()});
    ASSERT_EQ(get.code, CURLE_OK) << child.err();
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, pattern(1000));

    auto head = client.perform(
        {.url = origin.url("/size/5000"), .proxy = child.proxy_url(), .method = "HEAD"});
    ASSERT_EQ(head.code, CURLE_OK);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(header_value(head.headers, "content-length"), "5000") << head.headers;
    EXPECT_TRUE(head.body.empty());

    const std::size_t chunked_size = 300'000;
    auto chunked = client.perform({.url = origin.url("/chunked/" + std::to_string(chunked_size)),
                                   .proxy = child.proxy_url(),
                                   .keep_body = false});
    ASSERT_EQ(chunked.code, CURLE_OK);
    EXPECT_EQ(chunked.status, 200);
    EXPECT_EQ(chunked.body_size, chunked_size);
    EXPECT_EQ(chunked.body_hash, hash_pattern(chunked_size));

    // Keep-alive at every hop: the client's later requests reuse its first connection, and
    // the origin saw one connection for all three.
    EXPECT_EQ(head.connects, 0);
    EXPECT_EQ(chunked.connects, 0);
    EXPECT_EQ(origin.connections(), 1);

    // The origin got origin-form request lines, as from any client.
    const auto seen = origin.received();
    EXPECT_NE(seen.find("GET /size/1000 HTTP/1.1\r\n"), std::string::npos) << printable(seen);
    EXPECT_NE(seen.find("HEAD /size/5000 HTTP/1.1\r\n"), std::string::npos) << printable(seen);
    EXPECT_EQ(seen.find("http://"), std::string::npos) << printable(seen);
    // Every request went through the parent.
    const auto heads = heads_in(seen);
    ASSERT_EQ(heads.size(), 3u) << printable(seen);
    for (const auto& h : heads)
        EXPECT_EQ(header_values(h, "via"), (std::vector<std::string>{"1.1 child", "1.1 parent"}))
            << printable(h);
}

TEST(ParentChain, PostOfOneMegabyteIsByteExact) {
    test_origin origin;
    ferry_process parent({"--via", "parent"});
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--parent", parent.proxy_url()});
    ASSERT_TRUE(child.started()) << child.err();
    curl_client client;
    const std::size_t size = 1024 * 1024;
    auto r = client.perform({.url = origin.url("/echo"),
                             .proxy = child.proxy_url(),
                             .method = "POST",
                             .pattern_upload = size,
                             .keep_body = false});
    ASSERT_EQ(r.code, CURLE_OK) << child.err();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern(size));
    const auto seen = origin.received();
    const auto at_origin = std::string(head_of(seen));
    EXPECT_EQ(first_line(at_origin), "POST /echo HTTP/1.1");
    EXPECT_EQ(header_values(at_origin, "via"),
              (std::vector<std::string>{"1.1 ferry", "1.1 parent"}))
        << printable(at_origin);
}

TEST(ParentChain, EachHopAddsOneViaInOrder) {
    test_origin origin;
    ferry_process parent({"--via", "parent"});
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--via", "child", "--parent", parent.proxy_url()});
    ASSERT_TRUE(child.started()) << child.err();
    auto r = exchange(child.port(), get_request(origin.url("/headers"), origin.authority()));
    ASSERT_EQ(status_of(r), 200) << printable(r);
    // /headers answers with the request head the origin received.
    const auto at_origin = std::string(body_of(r));
    EXPECT_EQ(first_line(at_origin), "GET /headers HTTP/1.1");
    EXPECT_EQ(header_value(at_origin, "host"), origin.authority());
    EXPECT_EQ(header_values(at_origin, "via"),
              (std::vector<std::string>{"1.1 child", "1.1 parent"}))
        << printable(at_origin);
    // And back: the parent's Via first, then the child's.
    EXPECT_EQ(header_values(head_of(r), "via"),
              (std::vector<std::string>{"1.1 parent", "1.1 child"}))
        << printable(head_of(r));
}

TEST(ParentChain, ConnectThroughTwoFerriesIsByteExactBothWays) {
    test_origin origin;
    ferry_process parent({"--connect-ports", "any"});
    ASSERT_TRUE(parent.started()) << parent.err();
    ferry_process child({"--connect-ports", "any", "--parent", parent.proxy_url()});
    ASSERT_TRUE(child.started()) << child.err();
    const std::size_t size = 2 * 1024 * 1024;
    {
        curl_client client; // closes its tunnel at the end of this block
        auto down = client.perform({.url = origin.url("/size/" + std::to_string(size)),
                                    .proxy = child.proxy_url(),
                                    .tunnel = true,
                                    .keep_body = false});
        ASSERT_EQ(down.code, CURLE_OK) << child.err();
        EXPECT_EQ(down.status, 200);
        EXPECT_EQ(down.body_size, size);
        EXPECT_EQ(down.body_hash, hash_pattern(size));
        auto up = client.perform({.url = origin.url("/echo"),
                                  .proxy = child.proxy_url(),
                                  .method = "PUT",
                                  .pattern_upload = size,
                                  .tunnel = true,
                                  .keep_body = false});
        ASSERT_EQ(up.code, CURLE_OK);
        EXPECT_EQ(up.status, 200);
        EXPECT_EQ(up.body_size, size);
        EXPECT_EQ(up.body_hash, hash_pattern(size));
        // The tunnel carries bytes only: no ferry added a Via to what the origin answered.
        EXPECT_EQ(up.headers.find("Via:"), std::string::npos) << up.headers;
    }
    // The tunnel went through the parent: its access log has it once it has ended.
    EXPECT_TRUE(parent.wait_for_out("CONNECT " + origin.authority() + " 200"))
        << "parent's log:\n"
        << tail(parent.out()) << "\nchild's log:\n"
        << tail(child.out());
}

// A stand-in parent that records what ferry sends ----------------------------------------

TEST(ParentRecorded, AbsoluteFormWithDecodedCredentialsAndNoClientProxyFields) {
    test_origin fake(fake_parent());
    ferry_process ferry(
        {"--parent", fmt::format("http://alice:s%3Acret@127.0.0.1:{}", fake.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const int target_port = unused_port(); // never connected to: the parent answers
    const auto authority = fmt::format("127.0.0.1:{}", target_port);

    auto s = tcp_stream::connect_to(ferry.port());
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        ASSERT_TRUE(s.send_all(fmt::format("GET http://{}/p/{}?q=1&r=two HTTP/1.1\r\n"
                                           "Host: {}\r\n"
                                           "Proxy-Authorization: {}\r\n"
                                           "Proxy-Connection: keep-alive\r\n"
                                           "X-Test: {}\r\n\r\n",
                                           authority, i, authority, client_basic, i)));
        auto r = s.read_response(10s);
        ASSERT_EQ(status_of(r), 200) << printable(r) << tail(ferry.err());
        // The parent's chunked answer is relayed like an origin's.
        std::string body;
        if (header_value(head_of(r), "transfer-encoding").empty())
            body = std::string(body_of(r));
        else
            ASSERT_TRUE(dechunk(body_of(r), body)) << printable(r);
        EXPECT_EQ(body, parent_body);
        EXPECT_EQ(header_value(head_of(r), "x-parent"), "fake");
    }

    const auto heads = heads_in(fake.received());
    ASSERT_EQ(heads.size(), 3u) << printable(fake.received());
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        const auto& h = heads[std::size_t(i)];
        EXPECT_EQ(first_line(h),
                  fmt::format("GET http://{}/p/{}?q=1&r=two HTTP/1.1", authority, i));
        EXPECT_EQ(header_value(h, "host"), authority);
        EXPECT_EQ(header_values(h, "proxy-authorization"),
                  std::vector<std::string>{std::string(alice_basic)})
            << printable(h);
        EXPECT_TRUE(header_values(h, "proxy-connection").empty()) << printable(h);
        EXPECT_EQ(header_value(h, "x-test"), std::to_string(i));
        EXPECT_EQ(header_values(h, "via"), std::vector<std::string>{"1.1 ferry"}) << printable(h);
    }
    // One client connection, one parent connection, kept for all three.
    EXPECT_EQ(fake.connections(), 1);
}

TEST(ParentRecorded, WithoutCredentialsNoProxyAuthorizationIsSent) {
    test_origin fake(fake_parent());
    ferry_process ferry({"--parent", fmt::format("http://127.0.0.1:{}", fake.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto authority = fmt::format("127.0.0.1:{}", unused_port());
    auto r = exchange(ferry.port(), fmt::format("POST http://{}/form HTTP/1.1\r\nHost: {}\r\n"
                                                "Proxy-Authorization: {}\r\n"
                                                "Content-Length: 5\r\n\r\nabcde",
                                                authority, authority, client_basic));
    ASSERT_EQ(status_of(r), 200) << printable(r) << tail(ferry.err());
    const auto seen = fake.received();
    EXPECT_EQ(first_line(seen), fmt::format("POST http://{}/form HTTP/1.1", authority));
    EXPECT_TRUE(header_values(head_of(seen), "proxy-authorization").empty()) << printable(seen);
    EXPECT_EQ(std::string(body_of(seen)), "abcde");
}

TEST(ParentRecorded, ConnectGoesThroughTheParentsConnectWithCredentials) {
    test_origin fake(fake_parent());
    ferry_process ferry({"--connect-ports", "any", "--parent",
                         fmt::format("http://alice:s%3Acret@127.0.0.1:{}", fake.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto authority = fmt::format("127.0.0.1:{}", unused_port());
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
                           "\r\nProxy-Authorization: " + std::string(client_basic) + "\r\n\r\n"));
    auto head = s.read_until("\r\n\r\n", 10s);
    ASSERT_EQ(first_line(head), "HTTP/1.1 200 Connection established")
        << printable(head) << tail(ferry.err());
    ASSERT_TRUE(s.send_all("ping through the parent"));
    EXPECT_EQ(s.read_exact(23, 5s), "ping through the parent");
    s.close();
    ASSERT_TRUE(fake.wait_closed(1, 10s));

    const auto seen = fake.received();
    const auto parent_head = std::string(head_of(seen));
    EXPECT_EQ(first_line(parent_head), "CONNECT " + authority + " HTTP/1.1");
    EXPECT_EQ(header_value(parent_head, "host"), authority);
    EXPECT_EQ(header_values(parent_head, "proxy-authorization"),
              std::vector<std::string>{std::string(alice_basic)})
        << printable(parent_head);
    EXPECT_EQ(std::string(body_of(seen)), "ping through the parent");
}

TEST(ParentRecorded, RefusedConnectIs502NamingTheParentAndItsAnswer) {
    test_origin fake(fake_parent("HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way"));
    ferry_process ferry(
        {"--connect-ports", "any", "--parent", fmt::format("http://127.0.0.1:{}", fake.port())});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto parent = fmt::format("127.0.0.1:{}", fake.port());
    auto r = exchange(ferry.port(), connect_head(fmt::format("127.0.0.1:{}", unused_port())));
    expect_502_naming(r, parent);
    EXPECT_NE(std::string(body_of(r)).find("403"), std::string::npos)
        << "the answer should give the parent's status: " << printable(r);
    EXPECT_EQ(std::string(body_of(r)).find("no way"), std::string::npos) << printable(r);
}

TEST(ParentDown, GetAndConnectAre502NamingTheParent) {
    test_origin origin;
    const int down = unused_port();
    const auto parent = fmt::format("127.0.0.1:{}", down);
    ferry_process ferry({"--connect-ports", "any", "--parent", "http://" + parent});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    expect_502_naming(exchange(ferry.port(), get_request(origin.url("/"), origin.authority())),
                      parent);
    expect_502_naming(exchange(ferry.port(), connect_head(origin.authority())), parent);
    EXPECT_EQ(origin.connections(), 0); // never straight to the origin
}

// --direct ------------------------------------------------------------------------------

TEST(ParentDirect, CidrRuleReachesIpLiteralsDirectlyButNotNames) {
    test_origin origin;
    const auto parent = fmt::format("127.0.0.1:{}", unused_port()); // down
    ferry_process ferry(
        {"--connect-ports", "any", "--parent", "http://" + parent, "--direct", "127.0.0.0/8"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    auto r = exchange(ferry.port(), get_request(origin.url("/size/100"), origin.authority()));
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(std::string(body_of(r)), pattern(100));

    curl_client client;
    auto tunnel = client.perform(
        {.url = origin.url("/size/1000"), .proxy = ferry.proxy_url(), .tunnel = true});
    ASSERT_EQ(tunnel.code, CURLE_OK);
    EXPECT_EQ(tunnel.body, pattern(1000));

    // A name is not resolved to match a CIDR rule: localhost goes to the parent.
    const auto by_name = fmt::format("localhost:{}", origin.port());
    expect_502_naming(exchange(ferry.port(), get_request("http://" + by_name + "/", by_name)),
                      parent);
}

TEST(ParentDirect, HostRuleMatchesThatHostOnly) {
    test_origin origin;
    const auto parent = fmt::format("127.0.0.1:{}", unused_port()); // down
    ferry_process ferry({"--parent", "http://" + parent, "--direct", "localhost"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    const auto by_name = fmt::format("localhost:{}", origin.port());
    auto r = exchange(ferry.port(), get_request("http://" + by_name + "/size/10", by_name));
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(std::string(body_of(r)), pattern(10));
    const auto sub = fmt::format("a.localhost:{}", origin.port());
    expect_502_naming(exchange(ferry.port(), get_request("http://" + sub + "/", sub)), parent);
    expect_502_naming(exchange(ferry.port(), get_request(origin.url("/"), origin.authority())),
                      parent);
}

TEST(ParentDirect, DomainRuleMatchesTheDomainAndItsSubdomains) {
    test_origin origin;
    test_origin fake(fake_parent());
    ferry_process ferry(
        {"--parent", fmt::format("http://127.0.0.1:{}", fake.port()), "--direct", ".localhost"});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    for (const auto* host : {"a.b.localhost", "localhost"}) {
        SCOPED_TRACE(host);
        const auto authority = fmt::format("{}:{}", host, origin.port());
        auto r = exchange(ferry.port(), get_request("http://" + authority + "/size/10", authority));
        EXPECT_EQ(status_of(r), 200) << printable(r);
        EXPECT_EQ(std::string(body_of(r)), pattern(10));
    }
    EXPECT_EQ(origin.connections(), 2);
    EXPECT_EQ(fake.connections(), 0);
    // Not matched: to the parent, in absolute-form.
    const auto other = fmt::format("xlocalhost.invalid:{}", origin.port());
    auto r = exchange(ferry.port(), get_request("http://" + other + "/x", other));
    EXPECT_EQ(status_of(r), 200) << printable(r);
    EXPECT_EQ(first_line(fake.received()), "GET http://" + other + "/x HTTP/1.1");
    EXPECT_EQ(origin.connections(), 2);
}

// Bad values ----------------------------------------------------------------------------

TEST(ParentFlags, BadParentOrDirectExitsWithStatus2AndSaysWhy) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"--parent", "ftp://x:21"},
        {"--parent", "http://h:99999"},
        {"--parent", "http://h:0"},
        {"--parent", "http://h:port"},
        {"--parent", "http://h:8080/some/path"},
        {"--parent", "http://"},
        {"--parent", "http://:8080"},
        {"--parent", "http://:pw@h:8080"},
        {"--parent", "http://a%zz:b@h:8080"},
        {"--parent", "http://[::1:8080"},
        {"--parent", "h:8080"},
        {"--direct", "10.0.0.0/33"},
        {"--direct", "::1/129"},
        {"--direct", "10.0.0.0/x"},
        {"--direct", "300.0.0.0/8"},
        {"--direct", "a b"},
        {"--direct", ""},
    };
    for (const auto& [flag, value] : bad) {
        SCOPED_TRACE(flag + " " + value);
        auto r = run_ferry({"0", flag, value}, std::chrono::seconds(5));
        EXPECT_EQ(r.exit_code(), 2) << "stdout: " << r.out << "\nstderr: " << r.err;
        EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("Starting proxy server"), std::string::npos) << r.out;
    }
}

TEST(ParentFlags, GoodValuesStart) {
    ferry_process ferry({"--parent", "HTTP://u:p%40ss@127.0.0.1:3128/", "--direct", ".example.com",
                         "--direct", "intranet", "--direct", "10.0.0.0/8", "--direct", "::1",
                         "--direct", "fd00::/8", "--direct", "192.168.1.7"});
    EXPECT_TRUE(ferry.started()) << ferry.err();
}
