// The forwarding fields ferry writes (issue 18): X-Forwarded-For in Squid's four modes for
// trusted and untrusted clients, RFC 7239 Forwarded, Via off, and X-Ferry-Loop — extended
// toward a parent, never sent to an origin.
#include "http/head_parser.h"
#include "http/rewrite.h"
#include "http/target.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {
namespace {

using mode = forwarded_for_mode;

struct sent {
    std::string origin; // what an origin gets
    std::string parent; // what a parent proxy gets
};

sent forward(std::string raw, const request_options& options) {
    request_head head;
    EXPECT_EQ(parse_request_head(raw, 8192, head), parse_error::none) << raw;
    target dest;
    EXPECT_EQ(parse_request_target(head.method, head.target, find_field(head, "host"), dest),
              target_error::none);
    sent out;
    write_forward_request(head, dest, {}, options, out.origin);
    write_parent_request(head, dest, {}, options, "", out.parent);
    return out;
}

request_options client(mode m, std::string_view ip, bool trusted) {
    request_options o;
    o.forwarded_for = m;
    o.client = ip;
    o.trusted = trusted;
    return o;
}

constexpr std::string_view with_xff = "GET http://o.example/ HTTP/1.1\r\n"
                                      "X-Forwarded-For: 198.51.100.7\r\n"
                                      "X-Forwarded-For: 203.0.113.9 \r\n"
                                      "Accept: */*\r\n\r\n";

std::string origin_head(std::string_view fields) {
    return "GET / HTTP/1.1\r\nHost: o.example\r\nAccept: */*\r\nVia: 1.1 ferry\r\n" +
           std::string(fields) + "\r\n";
}

TEST(ForwardedFor, OnAppendsForATrustedClientAndReplacesForAnyOther) {
    EXPECT_EQ(forward(std::string(with_xff), client(mode::on, "192.0.2.1", true)).origin,
              origin_head("X-Forwarded-For: 198.51.100.7, 203.0.113.9, 192.0.2.1\r\n"));
    EXPECT_EQ(forward(std::string(with_xff), client(mode::on, "192.0.2.1", false)).origin,
              origin_head("X-Forwarded-For: 192.0.2.1\r\n"));
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\nAccept: */*\r\n\r\n",
                      client(mode::on, "2001:db8::1", true))
                  .origin,
              origin_head("X-Forwarded-For: 2001:db8::1\r\n"));
}

TEST(ForwardedFor, OffSaysUnknownInsteadOfTheAddress) {
    EXPECT_EQ(forward(std::string(with_xff), client(mode::off, "192.0.2.1", true)).origin,
              origin_head("X-Forwarded-For: 198.51.100.7, 203.0.113.9, unknown\r\n"));
    EXPECT_EQ(forward(std::string(with_xff), client(mode::off, "192.0.2.1", false)).origin,
              origin_head("X-Forwarded-For: unknown\r\n"));
}

TEST(ForwardedFor, TruncateSendsTheClientAloneEvenWhenTrusted) {
    for (bool trusted : {true, false})
        EXPECT_EQ(
            forward(std::string(with_xff), client(mode::truncate, "192.0.2.1", trusted)).origin,
            origin_head("X-Forwarded-For: 192.0.2.1\r\n"));
}

TEST(ForwardedFor, DeleteSendsNone) {
    for (bool trusted : {true, false})
        EXPECT_EQ(forward(std::string(with_xff), client(mode::remove, "192.0.2.1", trusted)).origin,
                  origin_head(""));
}

TEST(ForwardedFor, PassLeavesTheFieldsWhereTheyWere) {
    EXPECT_EQ(forward(std::string(with_xff), request_options("ferry")).origin,
              "GET / HTTP/1.1\r\nHost: o.example\r\nX-Forwarded-For: 198.51.100.7\r\n"
              "X-Forwarded-For: 203.0.113.9\r\nAccept: */*\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ForwardedFor, AFieldTheClientNamedInConnectionIsNotExtended) {
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\nConnection: X-Forwarded-For\r\n"
                      "X-Forwarded-For: 198.51.100.7\r\nAccept: */*\r\n\r\n",
                      client(mode::on, "192.0.2.1", true))
                  .origin,
              origin_head("X-Forwarded-For: 192.0.2.1\r\n"));
}

request_options forwarded(std::string_view ip, bool trusted) {
    auto o = client(mode::remove, ip, trusted);
    o.forwarded = true;
    o.by = "127.0.0.1";
    o.by_port = 3128;
    return o;
}

constexpr std::string_view with_forwarded = "GET http://o.example/ HTTP/1.1\r\n"
                                            "Forwarded: for=198.51.100.7;proto=https\r\n"
                                            "Accept: */*\r\n\r\n";

TEST(Forwarded, ForByAndProtoWithIPv4AndQuotedBracketedIPv6) {
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\nAccept: */*\r\n\r\n",
                      forwarded("192.0.2.1", false))
                  .origin,
              origin_head("Forwarded: for=192.0.2.1;by=\"127.0.0.1:3128\";proto=http\r\n"));
    auto v6 = forwarded("2001:db8::1", false);
    v6.by = "::1";
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\nAccept: */*\r\n\r\n", v6).origin,
              origin_head("Forwarded: for=\"[2001:db8::1]\";by=\"[::1]:3128\";proto=http\r\n"));
    auto unknown = forwarded("192.0.2.1", false);
    unknown.by = {};
    unknown.by_port = 0;
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\nAccept: */*\r\n\r\n", unknown).origin,
              origin_head("Forwarded: for=192.0.2.1;by=unknown;proto=http\r\n"));
}

TEST(Forwarded, ATrustedClientsElementsComeFirstAnUntrustedOnesAreDropped) {
    EXPECT_EQ(forward(std::string(with_forwarded), forwarded("192.0.2.1", true)).origin,
              origin_head("Forwarded: for=198.51.100.7;proto=https, "
                          "for=192.0.2.1;by=\"127.0.0.1:3128\";proto=http\r\n"));
    EXPECT_EQ(forward(std::string(with_forwarded), forwarded("192.0.2.1", false)).origin,
              origin_head("Forwarded: for=192.0.2.1;by=\"127.0.0.1:3128\";proto=http\r\n"));
}

TEST(Forwarded, OffLetsTheIncomingFieldPassUnchanged) {
    EXPECT_EQ(forward(std::string(with_forwarded), client(mode::remove, "192.0.2.1", false)).origin,
              "GET / HTTP/1.1\r\nHost: o.example\r\nForwarded: for=198.51.100.7;proto=https\r\n"
              "Accept: */*\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(Via, EmptyNameSendsNoVia) {
    request_options o("");
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\n\r\n", o).origin,
              "GET / HTTP/1.1\r\nHost: o.example\r\n\r\n");
    response_options r;
    std::string out;
    response_head head;
    std::string raw = "HTTP/1.1 200 OK\r\nServer: o\r\n\r\n";
    ASSERT_EQ(parse_response_head(raw, head), parse_error::none);
    write_forward_response(head, r, out);
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: o\r\n\r\n");
    out.clear();
    write_interim_response(head, "", out);
    EXPECT_EQ(out.find("Via"), std::string::npos) << out;
    out.clear();
    write_switch_response(head, "", out);
    EXPECT_EQ(out.find("Via"), std::string::npos) << out;
}

constexpr std::string_view with_loop = "GET http://o.example/ HTTP/1.1\r\n"
                                       "X-Ferry-Loop: 00000000000000aa\r\n"
                                       "Accept: */*\r\n"
                                       "x-ferry-loop: 00000000000000bb\r\n\r\n";

TEST(FerryLoop, NeverSentToAnOriginAndExtendedTowardAParent) {
    request_options o("ferry");
    o.loop_token = "00000000000000cc";
    const auto out = forward(std::string(with_loop), o);
    EXPECT_EQ(out.origin, origin_head(""));
    EXPECT_EQ(out.parent, "GET http://o.example/ HTTP/1.1\r\nHost: o.example\r\nAccept: */*\r\n"
                          "Via: 1.1 ferry\r\n"
                          "X-Ferry-Loop: 00000000000000aa, 00000000000000bb, 00000000000000cc\r\n"
                          "\r\n");
    // Without a token of its own, the incoming list still goes on to the parent.
    EXPECT_EQ(forward(std::string(with_loop), request_options("ferry")).parent,
              "GET http://o.example/ HTTP/1.1\r\nHost: o.example\r\nAccept: */*\r\n"
              "Via: 1.1 ferry\r\nX-Ferry-Loop: 00000000000000aa, 00000000000000bb\r\n\r\n");
    // And a request that carries none gets none unless ferry has a token.
    EXPECT_EQ(forward("GET http://o.example/ HTTP/1.1\r\n\r\n", request_options("ferry")).parent,
              "GET http://o.example/ HTTP/1.1\r\nHost: o.example\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(FerryLoop, ACONNECTToAParentCarriesTheListToo) {
    request_head head;
    std::string raw = "CONNECT s.example:443 HTTP/1.1\r\nHost: s.example:443\r\n"
                      "X-Ferry-Loop: 00000000000000aa\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
    ASSERT_EQ(parse_request_head(raw, 8192, head), parse_error::none);
    target dest;
    ASSERT_EQ(parse_authority("s.example:443", 0, dest.where), target_error::none);
    request_options o;
    o.loop_token = "00000000000000cc";
    std::string out;
    write_parent_connect(head, dest, "", o, out);
    EXPECT_EQ(out, "CONNECT s.example:443 HTTP/1.1\r\nHost: s.example:443\r\n"
                   "X-Ferry-Loop: 00000000000000aa, 00000000000000cc\r\n\r\n");
}

} // namespace
} // namespace ferry::http
