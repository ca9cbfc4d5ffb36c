// target: where a request goes, from its request-target or Host (RFC 9112 §3.2, RFC 3986).
#include "http/target.h"

#include "http/rewrite.h"

#include "describe_check.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::http {

static std::ostream& operator<<(std::ostream& os, target_error e) {
    return os << "target_error(" << int(e) << ": " << describe(e) << ")";
}

namespace {

target_error parse(std::string_view raw, target& out, std::string_view method = "GET",
                   std::string_view host = "") {
    return parse_request_target(method, raw, host, out);
}

target_error error_of(std::string_view raw, std::string_view method = "GET",
                      std::string_view host = "") {
    target t;
    return parse_request_target(method, raw, host, t);
}

// The request line ferry would send upstream for this target.
std::string forwarded_line(std::string_view method, std::string_view raw,
                           std::string_view host = "") {
    target t;
    if (parse_request_target(method, raw, host, t) != target_error::none) return "(rejected)";
    request_head h;
    h.method = method;
    h.target = raw;
    std::string out;
    write_forward_request(h, t, {}, request_options("ferry"), out);
    return out.substr(0, out.find("\r\n"));
}

// --- absolute-form ----------------------------------------------------------------------

TEST(AbsoluteForm, HostAndDefaultPort) {
    target t;
    ASSERT_EQ(parse("http://example.test/a/b?c=d", t), target_error::none);
    EXPECT_TRUE(t.absolute);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 80);
    EXPECT_FALSE(t.where.ipv6);
    EXPECT_EQ(t.where.text, "example.test");
    EXPECT_EQ(t.path, "/a/b?c=d");
}

TEST(AbsoluteForm, ExplicitPort) {
    target t;
    ASSERT_EQ(parse("http://example.test:8080/x", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 8080);
    EXPECT_EQ(t.where.text, "example.test:8080");
    EXPECT_EQ(t.path, "/x");
}

TEST(AbsoluteForm, EmptyPortMeansTheDefault) {
    // RFC 3986 §3.2.3: "http://example.test:/" is the same as "http://example.test/".
    target t;
    ASSERT_EQ(parse("http://example.test:/x", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 80);
    EXPECT_EQ(t.where.text, "example.test");
}

TEST(AbsoluteForm, Ipv6Literal) {
    target t;
    ASSERT_EQ(parse("http://[::1]:8080/p", t), target_error::none);
    EXPECT_TRUE(t.where.ipv6);
    EXPECT_EQ(t.where.host, "::1");
    EXPECT_EQ(t.where.port, 8080);
    EXPECT_EQ(t.where.text, "[::1]:8080");
    EXPECT_EQ(t.path, "/p");

    ASSERT_EQ(parse("http://[2001:db8::7]/", t), target_error::none);
    EXPECT_EQ(t.where.host, "2001:db8::7");
    EXPECT_EQ(t.where.port, 80);
    ASSERT_EQ(parse("http://[::ffff:192.0.2.1]:81/", t), target_error::none);
    EXPECT_EQ(t.where.host, "::ffff:192.0.2.1");
    EXPECT_EQ(t.where.port, 81);
}

TEST(AbsoluteForm, BadIpv6Literals) {
    for (std::string_view raw :
         {"http://[::1/", "http://[::1]x/", "http://[]/", "http://[v1.fe]/",
          "http://[fe80::1%25eth0]/", "http://[example.test]/", "http://::1/", "http://::1:80/"})
        EXPECT_EQ(error_of(raw), target_error::bad_host) << raw;
}

TEST(AbsoluteForm, Ipv4Literal) {
    target t;
    ASSERT_EQ(parse("http://192.0.2.10:3128/", t), target_error::none);
    EXPECT_EQ(t.where.host, "192.0.2.10");
    EXPECT_EQ(t.where.port, 3128);
    EXPECT_FALSE(t.where.ipv6);
}

TEST(AbsoluteForm, SchemeIsCaseInsensitive) {
    target t;
    ASSERT_EQ(parse("HTTP://Example.Test/", t), target_error::none);
    EXPECT_EQ(t.where.host, "Example.Test");
    EXPECT_EQ(parse("hTtP://example.test/", t), target_error::none);
}

TEST(AbsoluteForm, HttpsMustUseConnect) {
    EXPECT_EQ(error_of("https://example.test/"), target_error::https_scheme);
    EXPECT_EQ(error_of("HTTPS://example.test:443/x"), target_error::https_scheme);
}

TEST(AbsoluteForm, OtherSchemesAreRefused) {
    for (std::string_view raw : {"ftp://example.test/", "ws://example.test/", "file:///etc/passwd",
                                 "gopher://example.test:70/", "httpx://example.test/"})
        EXPECT_EQ(error_of(raw), target_error::bad_scheme) << raw;
}

TEST(AbsoluteForm, UserinfoIsRefused) {
    // RFC 9110 §4.2.4: never connect to it, never turn it into credentials.
    for (std::string_view raw : {"http://user@example.test/", "http://user:pass@example.test/",
                                 "http://user:pass@example.test:8080/", "http://@example.test/",
                                 "http://example.test@evil.test/", "http://a@[::1]/"})
        EXPECT_EQ(error_of(raw), target_error::userinfo) << raw;
    // An '@' in the path is not userinfo.
    target t;
    ASSERT_EQ(parse("http://example.test/mail@home", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.path, "/mail@home");
}

TEST(AbsoluteForm, Ports) {
    target t;
    ASSERT_EQ(parse("http://example.test:1/", t), target_error::none);
    EXPECT_EQ(t.where.port, 1);
    ASSERT_EQ(parse("http://example.test:65535/", t), target_error::none);
    EXPECT_EQ(t.where.port, 65535);
    for (std::string_view raw :
         {"http://example.test:0/", "http://example.test:65536/", "http://example.test:99999/",
          "http://example.test:8o/", "http://example.test:-1/", "http://example.test:+80/",
          "http://example.test:123456/", "http://example.test: 80/", "http://[::1]:0/",
          "http://[::1]:65536/", "http://[::1]:x/"})
        EXPECT_EQ(error_of(raw), target_error::bad_port) << raw;
}

TEST(AbsoluteForm, HostCharacters) {
    target t;
    ASSERT_EQ(parse("http://under_score.example.test/", t), target_error::none);
    EXPECT_EQ(t.where.host, "under_score.example.test");
    ASSERT_EQ(parse("http://ex%41mple.test/", t), target_error::none);
    for (std::string_view raw : {"http://ex%4/", "http://ex%zzample/", "http://exa<mple/",
                                 "http://exa\"mple/", "http://a:80:80/", "http://:80/"})
        EXPECT_EQ(error_of(raw), target_error::bad_host) << raw;
    EXPECT_EQ(error_of("http://"), target_error::bad_host);
    EXPECT_EQ(error_of("http:///path"), target_error::bad_host);
    EXPECT_EQ(error_of("http://?q"), target_error::bad_host);
}

TEST(AbsoluteForm, EmptyPathIsForwardedAsSlash) {
    target t;
    ASSERT_EQ(parse("http://example.test", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.path, "");
    EXPECT_EQ(forwarded_line("GET", "http://example.test"), "GET / HTTP/1.1");
    EXPECT_EQ(forwarded_line("GET", "http://example.test:8080"), "GET / HTTP/1.1");
}

TEST(AbsoluteForm, QueryWithoutPath) {
    target t;
    ASSERT_EQ(parse("http://example.test?q=1", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 80);
    EXPECT_EQ(t.path, "?q=1");
    EXPECT_EQ(forwarded_line("GET", "http://example.test?q=1"), "GET /?q=1 HTTP/1.1");
    EXPECT_EQ(forwarded_line("GET", "http://example.test:81?q=1"), "GET /?q=1 HTTP/1.1");
}

TEST(AbsoluteForm, FragmentIsStripped) {
    // RFC 9112 §3.2: a fragment is not part of the request-target.
    target t;
    ASSERT_EQ(parse("http://example.test/a?b=c#frag", t), target_error::none);
    EXPECT_EQ(t.path, "/a?b=c");
    ASSERT_EQ(parse("http://example.test#frag", t), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.path, "");
    EXPECT_EQ(forwarded_line("GET", "http://example.test/x#y"), "GET /x HTTP/1.1");
    EXPECT_EQ(forwarded_line("GET", "http://example.test#y"), "GET / HTTP/1.1");
    EXPECT_EQ(forwarded_line("GET", "http://example.test?q#y"), "GET /?q HTTP/1.1");
}

TEST(AbsoluteForm, HostFieldIsIgnored) {
    // RFC 9112 §3.2.2: the target's authority wins over Host.
    target t;
    ASSERT_EQ(parse("http://example.test/", t, "GET", "other.test:9999"), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 80);
}

TEST(AbsoluteForm, OptionsWithEmptyPathIsForwardedAsAsterisk) {
    // RFC 9112 §3.2.4: the last proxy MUST send "*" for an absolute-form OPTIONS target with
    // an empty path and no query.
    EXPECT_EQ(forwarded_line("OPTIONS", "http://example.test:8001"), "OPTIONS * HTTP/1.1");
    EXPECT_EQ(forwarded_line("OPTIONS", "http://example.test:8001?q"), "OPTIONS /?q HTTP/1.1");
}

// --- other forms ------------------------------------------------------------------------

TEST(OriginForm, DestinationComesFromHost) {
    target t;
    ASSERT_EQ(parse("/a?b", t, "GET", "example.test:8080"), target_error::none);
    EXPECT_FALSE(t.absolute);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.where.port, 8080);
    EXPECT_EQ(t.where.text, "example.test:8080");
    EXPECT_EQ(t.path, "/a?b");
    ASSERT_EQ(parse("/", t, "GET", "[::1]"), target_error::none);
    EXPECT_EQ(t.where.host, "::1");
    EXPECT_EQ(t.where.port, 80);
    EXPECT_EQ(forwarded_line("GET", "/a?b", "example.test"), "GET /a?b HTTP/1.1");
}

TEST(OriginForm, FragmentIsStrippedAsInAbsoluteForm) {
    // Found by the target fuzzer: "/p#frag" went upstream whole while "http://h/p#frag"
    // lost its fragment. Both forms now read the same.
    target t;
    ASSERT_EQ(parse("/p?q#frag", t, "GET", "example.test"), target_error::none);
    EXPECT_EQ(t.path, "/p?q");
    EXPECT_EQ(forwarded_line("GET", "/x#y", "example.test"), "GET /x HTTP/1.1");
    EXPECT_EQ(forwarded_line("GET", "/#y", "example.test"), "GET / HTTP/1.1");
}

TEST(OriginForm, WithoutAUsableHostIsRefused) {
    for (std::string_view host : {"", "user@example.test", "example.test:0", "example.test:http",
                                  "exa mple", "[::1", "example.test/path"})
        EXPECT_EQ(error_of("/", "GET", host), target_error::missing_host) << host;
}

TEST(AsteriskForm, OnlyForOptions) {
    target t;
    ASSERT_EQ(parse("*", t, "OPTIONS", "example.test"), target_error::none);
    EXPECT_EQ(t.where.host, "example.test");
    EXPECT_EQ(t.path, "*");
    EXPECT_EQ(forwarded_line("OPTIONS", "*", "example.test"), "OPTIONS * HTTP/1.1");
    EXPECT_EQ(error_of("*", "OPTIONS"), target_error::missing_host);
    EXPECT_EQ(error_of("*", "GET", "example.test"), target_error::bad_form);
}

TEST(OtherForms, AreRefused) {
    // authority-form is CONNECT's, which the decision handles before any target parsing.
    EXPECT_EQ(error_of("example.test:80", "GET", "example.test"), target_error::bad_form);
    EXPECT_EQ(error_of("example.test/path", "GET", "example.test"), target_error::bad_form);
    EXPECT_EQ(error_of("://example.test/"), target_error::bad_form);
    EXPECT_EQ(error_of("?q", "GET", "example.test"), target_error::bad_form);
}

TEST(Authority, ParsedAlone) {
    authority a;
    ASSERT_EQ(parse_authority("example.test", 443, a), target_error::none);
    EXPECT_EQ(a.host, "example.test");
    EXPECT_EQ(a.port, 443);
    EXPECT_EQ(a.text, "example.test");
    ASSERT_EQ(parse_authority("[::1]:", 443, a), target_error::none);
    EXPECT_EQ(a.port, 443);
    EXPECT_EQ(a.text, "[::1]");
    EXPECT_EQ(parse_authority("", 80, a), target_error::bad_host);
    EXPECT_EQ(parse_authority("u@h", 80, a), target_error::userinfo);
}

TEST(TargetError, EveryErrorHasItsOwnDescription) {
    expect_distinct_descriptions(target_error::none, target_error::bad_form);
}

} // namespace
} // namespace ferry::http

namespace ferry::http {
namespace {

// Resolvers read numeric hosts as IPv4 in forms RFC 3986 does not have (inet_aton): only the
// dotted-decimal form is accepted, so access rules and logs see the address that is reached.
TEST(NumericHost, OnlyDottedDecimalIsAnIpv4Address) {
    authority a;
    for (const char* ok : {"127.0.0.1", "10.0.0.255:8080", "0.0.0.0", "example.com",
                           "1.2.3.example", "a1.b2", "www.0x.com", "123abc.example", "localhost"})
        EXPECT_EQ(parse_authority(ok, 80, a), target_error::none) << ok;
    for (const char* bad :
         {"127.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "127.000.0.1",
          "256.1.1.1", "1.2.3.4.5", "127.0.0.1.1:80", "1.2.3.0x4", "example.123"})
        EXPECT_EQ(parse_authority(bad, 80, a), target_error::bad_host) << bad;
}

} // namespace
} // namespace ferry::http
