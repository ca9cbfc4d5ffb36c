// decision: what ferry does with a parsed request head, and the status a client sees.
#include "proxy/decision.h"

#include "http/head_parser.h"

#include <boost/asio/ip/address.hpp>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ferry::proxy {

static std::ostream& operator<<(std::ostream& os, action a) {
    switch (a) {
    case action::forward:
        return os << "forward";
    case action::tunnel:
        return os << "tunnel";
    case action::status_page:
        return os << "status_page";
    case action::answer_options:
        return os << "answer_options";
    case action::answer_trace:
        return os << "answer_trace";
    case action::reject:
        return os << "reject";
    }
    return os << "action(" << int(a) << ")";
}

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp::endpoint ep(const char* address, unsigned short port) {
    return {asio::ip::make_address(address), port};
}

// ferry listening on 127.0.0.1:9001 and on every address at 9002.
const std::array<tcp::endpoint, 2> self = {ep("127.0.0.1", 9001), ep("0.0.0.0", 9002)};

class Decide : public testing::Test {
protected:
    // Parses the head (which must be valid) and decides; the head stays alive in the fixture.
    decision decide_on(std::string head) {
        text_ = std::move(head);
        auto e = http::parse_request_head(text_, 8192, head_);
        EXPECT_EQ(e, http::parse_error::none) << text_;
        return decide(head_, self);
    }

    decision request(std::string_view request_line, std::string_view fields = "") {
        return decide_on(std::string(request_line) + "\r\n" + std::string(fields) + "\r\n");
    }

    static void expect_reject(const decision& d, int status) {
        EXPECT_EQ(d.kind, action::reject);
        EXPECT_EQ(to_status(d.problem.code), status) << d.problem.cause;
        EXPECT_FALSE(d.problem.cause.empty());
    }

    std::string text_;
    http::request_head head_;
};

TEST_F(Decide, AbsoluteFormIsForwarded) {
    auto d = request("GET http://example.test:8080/a?b HTTP/1.1", "Host: example.test:8080\r\n");
    EXPECT_EQ(d.kind, action::forward);
    EXPECT_FALSE(d.problem);
    EXPECT_EQ(d.target.where.host, "example.test");
    EXPECT_EQ(d.target.where.port, 8080);
    EXPECT_EQ(d.target.path, "/a?b");
    EXPECT_EQ(d.framing.kind, http::body_kind::none);
}

TEST_F(Decide, RequestBodyFramingIsDecided) {
    auto d = request("POST http://example.test/ HTTP/1.1",
                     "Host: example.test\r\nContent-Length: 12\r\n");
    EXPECT_EQ(d.kind, action::forward);
    EXPECT_EQ(d.framing.kind, http::body_kind::length);
    EXPECT_EQ(d.framing.length, 12u);
    d = request("POST http://example.test/ HTTP/1.1",
                "Host: example.test\r\nTransfer-Encoding: chunked\r\n");
    EXPECT_EQ(d.kind, action::forward);
    EXPECT_EQ(d.framing.kind, http::body_kind::chunked);
}

TEST_F(Decide, OriginFormGoesWhereHostSays) {
    auto d = request("GET /x HTTP/1.1", "Host: example.test:81\r\n");
    EXPECT_EQ(d.kind, action::forward);
    EXPECT_EQ(d.target.where.host, "example.test");
    EXPECT_EQ(d.target.where.port, 81);
    EXPECT_EQ(d.target.path, "/x");
}

TEST_F(Decide, MissingHostInHttp11Is400) {
    // RFC 9112 §3.2, also for absolute-form.
    expect_reject(request("GET http://example.test/ HTTP/1.1", "Accept: */*\r\n"), 400);
    expect_reject(request("GET / HTTP/1.1"), 400);
}

TEST_F(Decide, Http10MayOmitHostWithAnAbsoluteTarget) {
    auto d = request("GET http://example.test/ HTTP/1.0");
    EXPECT_EQ(d.kind, action::forward);
    EXPECT_EQ(d.target.where.host, "example.test");
    expect_reject(request("GET / HTTP/1.0"), 400); // nowhere to go
}

TEST_F(Decide, DuplicateHostIs400) {
    expect_reject(
        request("GET http://example.test/ HTTP/1.1", "Host: example.test\r\nHost: other.test\r\n"),
        400);
    expect_reject(request("GET http://example.test/ HTTP/1.1",
                          "Host: example.test\r\nhost: example.test\r\n"),
                  400);
    expect_reject(request("GET http://example.test/ HTTP/1.0", "Host: a\r\nHost: a\r\n"), 400);
}

TEST_F(Decide, InvalidHostIs400) {
    for (std::string_view host : {"", "user@example.test", "exa mple.test", "example.test:0",
                                  "example.test:99999", "[::1", "a/b"})
        expect_reject(
            request("GET http://example.test/ HTTP/1.1", "Host: " + std::string(host) + "\r\n"),
            400);
}

TEST_F(Decide, ConnectToAnAllowedPortIsATunnel) {
    auto d = request("CONNECT example.test:443 HTTP/1.1", "Host: example.test:443\r\n");
    EXPECT_EQ(d.kind, action::tunnel);
    EXPECT_EQ(d.target.where.host, "example.test");
    EXPECT_EQ(d.target.where.port, 443);
}

TEST_F(Decide, ConnectToAnotherPortIs403) {
    expect_reject(request("CONNECT example.test:8443 HTTP/1.1", "Host: example.test:8443\r\n"),
                  403);
}

TEST_F(Decide, MalformedConnectTargetsAre400) {
    for (std::string_view t :
         {"example.test", "example.test:", ":443", "example.test:0", "example.test:65536",
          "example.test:443/path", "u@example.test:443", "[::1]", "http://example.test:443"}) {
        SCOPED_TRACE(t);
        expect_reject(request("CONNECT " + std::string(t) + " HTTP/1.1", "Host: x\r\n"), 400);
    }
}

TEST_F(Decide, HttpsTargetIs400) {
    auto d = request("GET https://example.test/ HTTP/1.1", "Host: example.test\r\n");
    expect_reject(d, 400);
    EXPECT_NE(d.problem.cause.find("CONNECT"), std::string::npos) << d.problem.cause;
}

TEST_F(Decide, OtherSchemesAndUserinfoAre400) {
    expect_reject(request("GET ftp://example.test/ HTTP/1.1", "Host: example.test\r\n"), 400);
    expect_reject(request("GET http://user:pw@example.test/ HTTP/1.1", "Host: example.test\r\n"),
                  400);
    expect_reject(request("GET example.test:80 HTTP/1.1", "Host: example.test\r\n"), 400);
}

TEST_F(Decide, FramingErrors) {
    // RFC 9112 §6.1: a coding not understood → 501; ambiguous framing → 400.
    expect_reject(request("POST http://example.test/ HTTP/1.1",
                          "Host: example.test\r\nTransfer-Encoding: gzip, chunked\r\n"),
                  501);
    expect_reject(request("POST http://example.test/ HTTP/1.1",
                          "Host: example.test\r\nTransfer-Encoding: gzip\r\n"),
                  400);
    expect_reject(request("POST http://example.test/ HTTP/1.1",
                          "Host: example.test\r\nTransfer-Encoding: chunked\r\n"
                          "Content-Length: 5\r\n"),
                  400);
    expect_reject(request("POST http://example.test/ HTTP/1.1",
                          "Host: example.test\r\nContent-Length: 5, 6\r\n"),
                  400);
    expect_reject(request("POST http://example.test/ HTTP/1.0",
                          "Host: example.test\r\nTransfer-Encoding: chunked\r\n"),
                  400);
}

// --- requests addressed to ferry itself -------------------------------------------------

TEST_F(Decide, GetToTheProxyItselfIsTheStatusPage) {
    for (std::string_view target :
         {"http://127.0.0.1:9001/", "http://localhost:9001/", "http://LOCALHOST.:9001/x",
          "http://127.0.0.1:9002/", "http://127.0.0.7:9002/", "http://localhost:9002/",
          "http://[::ffff:127.0.0.1]:9001/", "http://0.0.0.0:9002/"}) {
        auto d = request("GET " + std::string(target) + " HTTP/1.1", "Host: x\r\n");
        EXPECT_EQ(d.kind, action::status_page) << target;
    }
    EXPECT_EQ(request("HEAD http://127.0.0.1:9001/ HTTP/1.1", "Host: x\r\n").kind,
              action::status_page);
    // The usual way to browse to a proxy: origin-form with Host naming it.
    EXPECT_EQ(request("GET / HTTP/1.1", "Host: 127.0.0.1:9001\r\n").kind, action::status_page);
}

TEST_F(Decide, OtherMethodsToTheProxyItselfAreRejected) {
    expect_reject(request("POST http://127.0.0.1:9001/ HTTP/1.1",
                          "Host: 127.0.0.1:9001\r\nContent-Length: 0\r\n"),
                  400);
    expect_reject(request("DELETE http://localhost:9002/ HTTP/1.1", "Host: x\r\n"), 400);
}

TEST_F(Decide, NearbyAddressesAreNotSelf) {
    for (std::string_view target :
         {"http://127.0.0.1:9003/", "http://127.0.0.2:9001/", "http://192.0.2.1:9001/",
          "http://localhost:80/", "http://example.test:9001/", "http://localhost.example:9001/"}) {
        auto d = request("GET " + std::string(target) + " HTTP/1.1", "Host: x\r\n");
        EXPECT_EQ(d.kind, action::forward) << target;
    }
}

TEST_F(Decide, UnspecifiedAddressReachesTheProxyItself) {
    auto d = request("GET http://0.0.0.0:9001/ HTTP/1.1", "Host: x\r\n");
    EXPECT_EQ(d.kind, action::status_page);
    d = request("POST http://0.0.0.0:9001/ HTTP/1.1", "Host: x\r\n");
    EXPECT_EQ(d.kind, action::reject);
}

TEST(IsSelfEndpoint, Rules) {
    EXPECT_TRUE(is_self_endpoint(ep("127.0.0.1", 9001), self));
    EXPECT_FALSE(is_self_endpoint(ep("127.0.0.1", 9000), self));
    EXPECT_TRUE(is_self_endpoint(ep("::ffff:127.0.0.1", 9001), self));
    EXPECT_TRUE(is_self_endpoint(ep("127.1.2.3", 9002), self)); // wildcard listener
    EXPECT_FALSE(is_self_endpoint(ep("192.0.2.1", 9001), self));
    EXPECT_FALSE(is_self_endpoint(ep("127.0.0.1", 9001), {}));
}

// --- Max-Forwards (RFC 9110 §7.6.2) -----------------------------------------------------

TEST_F(Decide, MaxForwardsZeroIsAnsweredLocally) {
    EXPECT_EQ(
        request("TRACE http://example.test/ HTTP/1.1", "Host: example.test\r\nMax-Forwards: 0\r\n")
            .kind,
        action::answer_trace);
    EXPECT_EQ(request("OPTIONS http://example.test/ HTTP/1.1",
                      "Host: example.test\r\nmax-forwards: 0\r\n")
                  .kind,
              action::answer_options);
    EXPECT_EQ(request("OPTIONS * HTTP/1.1", "Host: example.test\r\nMax-Forwards: 0\r\n").kind,
              action::answer_options);
}

TEST_F(Decide, MaxForwardsAboveZeroOrOnOtherMethodsIsForwarded) {
    EXPECT_EQ(
        request("TRACE http://example.test/ HTTP/1.1", "Host: example.test\r\nMax-Forwards: 1\r\n")
            .kind,
        action::forward);
    EXPECT_EQ(
        request("GET http://example.test/ HTTP/1.1", "Host: example.test\r\nMax-Forwards: 0\r\n")
            .kind,
        action::forward);
    EXPECT_EQ(request("OPTIONS http://example.test/ HTTP/1.1", "Host: example.test\r\n").kind,
              action::forward);
}

TEST_F(Decide, MaxForwardsZeroWithLeadingZerosIsAnsweredLocally) {
    // Max-Forwards = 1*DIGIT; "00" is zero and MUST NOT be forwarded (RFC 9110 §7.6.2).
    EXPECT_EQ(
        request("TRACE http://example.test/ HTTP/1.1", "Host: example.test\r\nMax-Forwards: 00\r\n")
            .kind,
        action::answer_trace);
}

// X-Ferry-Loop (issue 18): this instance's token anywhere in the list is a loop (508).
TEST_F(Decide, OwnLoopTokenIsAForwardingLoop) {
    request(
        "GET http://example.test/ HTTP/1.1",
        "X-Ferry-Loop: 00000000000000aa\r\nx-ferry-loop: 0000000000000001 ,00000000000000BB\r\n");
    const auto loop = forwarding_loop(head_, "00000000000000bb");
    EXPECT_EQ(loop.code, errc::forwarding_loop);
    EXPECT_EQ(to_status(loop.code), 508);
    EXPECT_EQ(loop.cause,
              "ferry: forwarding loop: this request has already passed through this proxy");
    EXPECT_FALSE(forwarding_loop(head_, "00000000000000cc")); // another proxy's tokens
    EXPECT_FALSE(forwarding_loop(head_, ""));                 // no token: no check
    EXPECT_FALSE(forwarding_loop(head_, "0000000000000"));    // a prefix is not the token
}

} // namespace
} // namespace ferry::proxy
