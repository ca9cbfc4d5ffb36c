// ferry with another vendor's proxy as its --parent: ferry → tinyproxy → origin and
// ferry → Squid → origin, both from Debian, started by the test on loopback.
#include "support/curl_client.h"
#include "support/ferry_process.h"
#include "support/origin.h"
#include "support/peer_proxy.h"
#include "support/ports.h"
#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

using namespace ferry_test;

namespace {

// Starts `kind`, or explains why the test cannot run.
#define START_PEER(var, kind, ...)                                                                 \
    if (!peer_proxy::installed(kind))                                                              \
        GTEST_SKIP() << peer_proxy::program(kind) << " is not installed";                          \
    peer_proxy var(kind, __VA_ARGS__);                                                             \
    ASSERT_TRUE(var.ready()) << var.problem()

// The Via values of a head, split at commas: a proxy may append to the list in one field.
std::vector<std::string> via_list(std::string_view head) {
    std::vector<std::string> out;
    for (const auto& field : header_values(head, "via")) {
        std::size_t start = 0;
        while (start <= field.size() && out.size() < 20) {
            auto comma = field.find(',', start);
            auto piece =
                field.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            auto first = piece.find_first_not_of(' ');
            if (first != std::string::npos) out.push_back(piece.substr(first));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    return out;
}

// GET /headers through `proxy`: the origin got origin-form, and Via names ferry first and then
// the peer (whose Via value contains `peer_name`).
void expect_chain_get(curl_client& client, const test_origin& origin, const ferry_process& ferry,
                      const std::string& peer_name) {
    auto r = client.perform({.url = origin.url("/headers"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(r.code, CURLE_OK) << tail(ferry.err());
    ASSERT_EQ(r.status, 200) << r.headers << r.body;
    const auto& at_origin = r.body;
    EXPECT_EQ(at_origin.substr(0, at_origin.find("\r\n")), "GET /headers HTTP/1.1");
    EXPECT_EQ(header_value(at_origin, "host"), origin.authority());
    const auto via = via_list(at_origin);
    ASSERT_EQ(via.size(), 2u) << printable(at_origin);
    EXPECT_EQ(via[0], "1.1 ferry");
    EXPECT_NE(via[1].find(peer_name), std::string::npos) << via[1];
    EXPECT_TRUE(header_value(at_origin, "proxy-authorization").empty()) << printable(at_origin);
}

void expect_chain_post(curl_client& client, const test_origin& origin, const ferry_process& ferry) {
    const std::size_t size = 1024 * 1024;
    auto r = client.perform({.url = origin.url("/echo"),
                             .proxy = ferry.proxy_url(),
                             .method = "POST",
                             .pattern_upload = size});
    ASSERT_EQ(r.code, CURLE_OK) << tail(ferry.err());
    EXPECT_EQ(r.status, 200) << r.headers << printable(r.body, 200) << "\nferry's log:\n"
                             << tail(ferry.out());
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern(size));
}

void expect_chain_connect(curl_client& client, const test_origin& origin,
                          const ferry_process& ferry) {
    const std::size_t size = 1024 * 1024;
    auto r = client.perform({.url = origin.url("/size/" + std::to_string(size)),
                             .proxy = ferry.proxy_url(),
                             .tunnel = true,
                             .keep_body = false});
    ASSERT_EQ(r.code, CURLE_OK) << tail(ferry.err());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_size, size);
    EXPECT_EQ(r.body_hash, hash_pattern(size));
}

} // namespace

TEST(ParentTinyproxy, GetPostAndConnectReachTheOrigin) {
    test_origin origin;
    START_PEER(tinyproxy, peer_kind::tinyproxy, {"ConnectPort " + std::to_string(origin.port())});
    ferry_process ferry({"--connect-ports", "any", "--parent", tinyproxy.url()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    expect_chain_get(client, origin, ferry, "tinyproxy");
    expect_chain_post(client, origin, ferry);
    expect_chain_connect(client, origin, ferry);
    // tinyproxy closes its connections after each response; ferry keeps the client's.
    auto again = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
    ASSERT_EQ(again.code, CURLE_OK);
    EXPECT_EQ(again.body, pattern(10));
    EXPECT_EQ(again.connects, 0);
    if (HasFailure()) ADD_FAILURE() << "tinyproxy log:\n" << tail(tinyproxy.log(), 4000);
}

TEST(ParentTinyproxy, BasicCredentialsFromTheParentUrl) {
    test_origin origin;
    START_PEER(tinyproxy, peer_kind::tinyproxy,
               {"BasicAuth alice s3cret", "ConnectPort " + std::to_string(origin.port())});
    curl_client client;
    {
        ferry_process ferry({"--connect-ports", "any", "--parent",
                             fmt::format("http://alice:s%33cret@127.0.0.1:{}", tinyproxy.port())});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        auto r = client.perform({.url = origin.url("/size/10"), .proxy = ferry.proxy_url()});
        ASSERT_EQ(r.code, CURLE_OK);
        EXPECT_EQ(r.status, 200) << r.headers;
        EXPECT_EQ(r.body, pattern(10));
        expect_chain_connect(client, origin, ferry);
    }
    {
        ferry_process ferry({"--parent", tinyproxy.url()});
        ASSERT_TRUE(ferry.started()) << ferry.err();
        // The client's own Proxy-Authorization is for ferry, not for the parent; the
        // parent's 407 is about ferry's credentials, which the client cannot fix: a 502.
        auto r = client.perform({.url = origin.url("/size/10"),
                                 .proxy = ferry.proxy_url(),
                                 .headers = {"Proxy-Authorization: Basic YWxpY2U6czNjcmV0"}});
        ASSERT_EQ(r.code, CURLE_OK);
        EXPECT_EQ(r.status, 502) << r.headers;
        EXPECT_NE(r.body.find("refused ferry's credentials (HTTP/1.0 407"), std::string::npos)
            << r.body;
    }
    if (HasFailure()) ADD_FAILURE() << "tinyproxy log:\n" << tail(tinyproxy.log(), 4000);
}

TEST(ParentSquid, GetPostAndConnectReachTheOrigin) {
    test_origin origin;
    START_PEER(squid, peer_kind::squid,
               {"acl test_ports port " + std::to_string(origin.port()),
                "http_access deny CONNECT !test_ports"});
    ferry_process ferry({"--connect-ports", "any", "--parent", squid.url()});
    ASSERT_TRUE(ferry.started()) << ferry.err();
    curl_client client;
    expect_chain_get(client, origin, ferry, "squid");
    expect_chain_post(client, origin, ferry);
    expect_chain_connect(client, origin, ferry);

    // A CONNECT squid refuses (a port outside its acl) is a 502 that names squid.
    const auto refused = fmt::format("127.0.0.1:{}", unused_port());
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.send_all("CONNECT " + refused + " HTTP/1.1\r\nHost: " + refused + "\r\n\r\n"));
    auto r = s.read_response(10s);
    EXPECT_EQ(status_of(r), 502) << printable(r);
    const auto body = std::string(body_of(r));
    EXPECT_NE(body.find(fmt::format("127.0.0.1:{}", squid.port())), std::string::npos)
        << printable(r);
    EXPECT_NE(body.find("403"), std::string::npos) << printable(r);
    if (HasFailure()) ADD_FAILURE() << "squid log:\n" << tail(squid.log(), 4000);
}
