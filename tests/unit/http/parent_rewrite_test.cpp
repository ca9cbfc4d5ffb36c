// What ferry sends to a parent proxy: absolute-form, its own credentials, never the client's.
#include "http/head_parser.h"
#include "http/rewrite.h"
#include "http/target.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {
namespace {

std::string to_parent(std::string raw, std::string_view authorization,
                      framing_fields framing = {}) {
    request_head head;
    EXPECT_EQ(parse_request_head(raw, 8192, head), parse_error::none) << raw;
    target dest;
    EXPECT_EQ(parse_request_target(head.method, head.target, find_field(head, "host"), dest),
              target_error::none);
    std::string out;
    write_parent_request(head, dest, framing, request_options("ferry"), authorization, out);
    return out;
}

TEST(ParentRequest, AbsoluteFormWithHostAndVia) {
    EXPECT_EQ(to_parent("GET http://Example.COM:8080/a?b=c HTTP/1.1\r\nHost: x\r\n"
                        "Accept: */*\r\n\r\n",
                        ""),
              "GET http://Example.COM:8080/a?b=c HTTP/1.1\r\nHost: Example.COM:8080\r\n"
              "Accept: */*\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ParentRequest, OriginFormFromAClientBecomesAbsolute) {
    EXPECT_EQ(to_parent("GET /x HTTP/1.1\r\nHost: origin.example\r\n\r\n", ""),
              "GET http://origin.example/x HTTP/1.1\r\nHost: origin.example\r\nVia: 1.1 ferry\r\n"
              "\r\n");
}

TEST(ParentRequest, EmptyPathAndQueryOnly) {
    EXPECT_EQ(to_parent("GET http://a.example HTTP/1.1\r\n\r\n", ""),
              "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 ferry\r\n\r\n");
    EXPECT_EQ(to_parent("GET http://a.example?q HTTP/1.1\r\n\r\n", ""),
              "GET http://a.example/?q HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ParentRequest, OptionsForTheServerHasNoPath) {
    // RFC 9112 §3.2.4: the last proxy turns it back into OPTIONS *.
    EXPECT_EQ(to_parent("OPTIONS * HTTP/1.1\r\nHost: a.example:81\r\n\r\n", ""),
              "OPTIONS http://a.example:81 HTTP/1.1\r\nHost: a.example:81\r\n"
              "Via: 1.1 ferry\r\n\r\n");
}

TEST(ParentRequest, ParentCredentialsReplaceTheClients) {
    auto out = to_parent("GET http://a.example/ HTTP/1.1\r\n"
                         "Proxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n"
                         "Proxy-Connection: keep-alive\r\n\r\n",
                         "Basic YWxpY2U6czpjcmV0");
    EXPECT_EQ(out, "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n"
                   "Proxy-Authorization: Basic YWxpY2U6czpjcmV0\r\nVia: 1.1 ferry\r\n\r\n");
}

TEST(ParentRequest, ClientCredentialsNeverForwardedWithoutParentOnes) {
    auto out = to_parent("GET http://a.example/ HTTP/1.1\r\n"
                         "Proxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n",
                         "");
    EXPECT_EQ(out.find("Proxy-Authorization"), std::string::npos) << out;
}

TEST(ParentRequest, TraceNeverCarriesTheParentsCredentials) {
    // The parent may echo a TRACE back to the client (RFC 9110 §9.3.8).
    auto out = to_parent("TRACE http://a.example/ HTTP/1.1\r\nMax-Forwards: 1\r\n\r\n",
                         "Basic YWxpY2U6czpjcmV0");
    EXPECT_EQ(out, "TRACE http://a.example/ HTTP/1.1\r\nHost: a.example\r\nMax-Forwards: 0\r\n"
                   "Via: 1.1 ferry\r\n\r\n");
}

TEST(ParentRequest, FramingIsFerrysOwn) {
    framing_fields f;
    f.content_length = 5;
    EXPECT_EQ(to_parent("POST http://a.example/p HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "", f),
              "POST http://a.example/p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n"
              "Via: 1.1 ferry\r\n\r\n");
}

TEST(ParentConnect, AuthorityFormWithHostAndCredentials) {
    target dest;
    ASSERT_EQ(parse_authority("secure.example:443", 0, dest.where), target_error::none);
    const request_head client; // no X-Ferry-Loop, and no token: nothing added
    std::string out;
    write_parent_connect(client, dest, "", {}, out);
    EXPECT_EQ(out, "CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\n\r\n");
    out.clear();
    write_parent_connect(client, dest, "Basic YTpi", {}, out);
    EXPECT_EQ(out, "CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\n"
                   "Proxy-Authorization: Basic YTpi\r\n\r\n");
}

} // namespace
} // namespace ferry::http
