// head_parser: strict parsing of complete request and response heads (RFC 9112 §2–§5).
// Heads are given as head_scanner hands them over: CRLF line ends and the final empty line.
#include "http/head_parser.h"

#include "describe_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::http {

static std::ostream& operator<<(std::ostream& os, parse_error e) {
    return os << "parse_error(" << int(e) << ": " << describe(e) << ")";
}

namespace {

using namespace std::string_literals;

constexpr std::size_t max_target = 8 * 1024;

std::string request(std::string_view start_line, std::string_view fields = "") {
    std::string s(start_line);
    s += "\r\n";
    s += fields;
    s += "\r\n";
    return s;
}

std::string with_host(std::string_view start_line) {
    return request(start_line, "Host: a\r\n");
}

// `out` holds views into `head`: the head must outlive it, so no temporaries.
parse_error parse_req(const std::string& head, request_head& out, std::size_t limit = max_target) {
    return parse_request_head(head, limit, out);
}
parse_error parse_req(std::string&&, request_head&, std::size_t = max_target) = delete;

parse_error req_error(const std::string& head, std::size_t limit = max_target) {
    request_head out;
    return parse_request_head(head, limit, out);
}

parse_error resp_error(const std::string& head) {
    response_head out;
    return parse_response_head(head, out);
}

// --- request line -----------------------------------------------------------------------

TEST(RequestLine, OriginForm) {
    std::string head = request("GET /index.html?q=1 HTTP/1.1", "Host: example.test\r\n");
    request_head h;
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    EXPECT_EQ(h.method, "GET");
    EXPECT_EQ(h.target, "/index.html?q=1");
    EXPECT_EQ(h.minor, 1);
    EXPECT_EQ(h.request_line, "GET /index.html?q=1 HTTP/1.1");
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].name, "Host");
    EXPECT_EQ(h.fields[0].value, "example.test");
}

TEST(RequestLine, AbsoluteAuthorityAndAsteriskForms) {
    request_head h;
    const std::string absolute = with_host("GET http://example.test:8080/a?b HTTP/1.1");
    ASSERT_EQ(parse_req(absolute, h), parse_error::none);
    EXPECT_EQ(h.target, "http://example.test:8080/a?b");
    const std::string authority = with_host("CONNECT example.test:443 HTTP/1.1");
    ASSERT_EQ(parse_req(authority, h), parse_error::none);
    EXPECT_EQ(h.method, "CONNECT");
    EXPECT_EQ(h.target, "example.test:443");
    const std::string asterisk = with_host("OPTIONS * HTTP/1.1");
    ASSERT_EQ(parse_req(asterisk, h), parse_error::none);
    EXPECT_EQ(h.method, "OPTIONS");
    EXPECT_EQ(h.target, "*");
}

TEST(RequestLine, Versions) {
    struct {
        const char* version;
        parse_error error;
        int minor;
    } cases[] = {
        {"HTTP/1.0", parse_error::none, 0},
        {"HTTP/1.1", parse_error::none, 1},
        // RFC 9110 §2.5: a higher minor version is handled as the highest one understood.
        {"HTTP/1.2", parse_error::none, 1},
        {"HTTP/1.9", parse_error::none, 1},
        {"HTTP/2.0", parse_error::unsupported_version, 0},
        {"HTTP/3.0", parse_error::unsupported_version, 0},
        {"HTTP/0.9", parse_error::unsupported_version, 0},
        {"HTTP/1", parse_error::bad_version, 0},
        {"HTTP/1.", parse_error::bad_version, 0},
        {"HTTP/1.10", parse_error::bad_version, 0},
        {"HTTP/11", parse_error::bad_version, 0},
        {"HTTP/1.x", parse_error::bad_version, 0},
        {"HTTP/a.1", parse_error::bad_version, 0},
        {"http/1.1", parse_error::bad_version, 0}, // HTTP-name is case-sensitive (§2.3)
        {"HTTPS/1.1", parse_error::bad_version, 0},
        {"ICE/1.0", parse_error::bad_version, 0},
        {"RTSP/1.0", parse_error::bad_version, 0},
        {"HTTP/1.1 ", parse_error::bad_version, 0},
        {"HTTP/1,1", parse_error::bad_version, 0},
    };
    for (const auto& c : cases) {
        request_head h;
        const std::string head = with_host(std::string("GET / ") + c.version);
        auto e = parse_req(head, h);
        EXPECT_EQ(e, c.error) << c.version;
        if (e == parse_error::none) {
            EXPECT_EQ(h.minor, c.minor) << c.version;
        }
    }
}

TEST(RequestLine, MissingPartsAreRejected) {
    EXPECT_EQ(req_error(request("GET /")), parse_error::bad_start_line);
    EXPECT_EQ(req_error(request("GET")), parse_error::bad_start_line);
    EXPECT_EQ(req_error(request("")), parse_error::bad_start_line);
    EXPECT_EQ(req_error(request("GET / ")), parse_error::bad_version);
}

TEST(RequestLine, SingleSpacesOnly) {
    EXPECT_EQ(req_error(with_host("GET  / HTTP/1.1")), parse_error::bad_target);
    EXPECT_EQ(req_error(with_host("GET /  HTTP/1.1")), parse_error::bad_version);
    EXPECT_EQ(req_error(with_host("GET / HTTP/1.1 ")), parse_error::bad_version);
    EXPECT_NE(req_error(with_host(" GET / HTTP/1.1")), parse_error::none);
    EXPECT_NE(req_error(with_host("GET\t/ HTTP/1.1")), parse_error::none);
    EXPECT_NE(req_error(with_host("GET /\tHTTP/1.1")), parse_error::none);
}

TEST(RequestLine, MethodMustBeAToken) {
    for (const char* method : {"GET", "get", "M-SEARCH", "X_CUSTOM", "PATCH", "Q!#$%&'*+-.^_`|~"})
        EXPECT_EQ(req_error(with_host(std::string(method) + " / HTTP/1.1")), parse_error::none)
            << method;
    for (std::string method :
         {std::string("G(ET"), std::string("GE\"T"), std::string("GE:T"), std::string("GE\x01T"),
          std::string("G\xc3\x89T"), std::string("GE\x7fT"), std::string("GE/T"), "\0"s})
        EXPECT_EQ(req_error(with_host(method + " / HTTP/1.1")), parse_error::bad_method)
            << testing::PrintToString(method);
}

TEST(RequestLine, SpaceInsideTheMethodIsRejected) {
    // "GE T / HTTP/1.1" must not be read as method GE with target T.
    EXPECT_NE(req_error(with_host("GE T / HTTP/1.1")), parse_error::none);
    EXPECT_NE(req_error(with_host("GE T /")), parse_error::none);
}

TEST(RequestLine, TargetCharacters) {
    for (std::string target :
         {"/", "/a%20b", "/\"quoted\"", "/a{b}|c^d`e", "/~user?x=1&y=2#f", "http://[::1]:80/", "*"})
        EXPECT_EQ(req_error(with_host("GET " + target + " HTTP/1.1")), parse_error::none) << target;
    for (std::string target :
         {std::string("/a\tb"), std::string("/a\x7f"), std::string("/caf\xc3\xa9"),
          std::string("/a\x01"), "/a\0b"s, std::string("/\x80")})
        EXPECT_EQ(req_error(with_host("GET " + target + " HTTP/1.1")), parse_error::bad_target)
            << testing::PrintToString(target);
}

TEST(RequestLine, TargetTooLong) {
    std::string at_limit = "/" + std::string(max_target - 1, 'a');
    std::string over = at_limit + "a";
    EXPECT_EQ(req_error(with_host("GET " + at_limit + " HTTP/1.1")), parse_error::none);
    EXPECT_EQ(req_error(with_host("GET " + over + " HTTP/1.1")), parse_error::target_too_long);
    // The limit is the caller's.
    EXPECT_EQ(req_error(with_host("GET /abcd HTTP/1.1"), 4), parse_error::target_too_long);
    EXPECT_EQ(req_error(with_host("GET /abc HTTP/1.1"), 4), parse_error::none);
}

TEST(RequestLine, BareCrIsRejected) {
    EXPECT_EQ(req_error(with_host("GET /\r HTTP/1.1")), parse_error::bare_cr);
    EXPECT_EQ(req_error(with_host("GET / HTTP/1.1\r")), parse_error::bare_cr);
}

// --- field lines ------------------------------------------------------------------------

parse_error field_error(std::string_view line) {
    return req_error(request("GET / HTTP/1.1", std::string(line) + "\r\n"));
}

TEST(FieldLines, WhitespaceBeforeColonIsRejected) {
    // RFC 9112 §5.1: a server MUST reject it (it is how "Content-Length : 5" smuggles).
    EXPECT_EQ(field_error("Content-Length : 5"), parse_error::space_before_colon);
    EXPECT_EQ(field_error("Host\t: a"), parse_error::space_before_colon);
    EXPECT_EQ(field_error("Host  : a"), parse_error::space_before_colon);
}

TEST(FieldLines, ObsFoldIsRejected) {
    EXPECT_EQ(req_error(request("GET / HTTP/1.1", "X-A: one\r\n two\r\n")), parse_error::obs_fold);
    EXPECT_EQ(req_error(request("GET / HTTP/1.1", "X-A: one\r\n\ttwo\r\n")), parse_error::obs_fold);
    // Whitespace before the first field line (RFC 9112 §2.2).
    EXPECT_EQ(req_error(request("GET / HTTP/1.1", " Host: a\r\n")), parse_error::obs_fold);
}

TEST(FieldLines, NameRules) {
    EXPECT_EQ(field_error(": value"), parse_error::empty_field_name);
    EXPECT_EQ(field_error(":"), parse_error::empty_field_name);
    EXPECT_EQ(field_error("NoColonHere"), parse_error::bad_field_name);
    EXPECT_EQ(field_error("Bad Name: v"), parse_error::bad_field_name);
    EXPECT_EQ(field_error("Bad(Name): v"), parse_error::bad_field_name);
    EXPECT_EQ(field_error("Na\xc3\xafve: v"), parse_error::bad_field_name);
    EXPECT_EQ(field_error("X\x01Y: v"), parse_error::bad_field_name);
    EXPECT_EQ(field_error("X-Ok_1.2~!#$%&'*+^`|: v"), parse_error::none);
}

TEST(FieldLines, BareCrIsRejected) {
    EXPECT_EQ(field_error("X-A: a\rb"), parse_error::bare_cr);
    EXPECT_EQ(field_error("X-A\r: a"), parse_error::bare_cr);
    EXPECT_EQ(field_error("X-A: a\r"), parse_error::bare_cr);
}

TEST(FieldLines, ControlCharactersInValuesAreRejected) {
    for (int c = 0; c < 0x20; ++c) {
        if (c == '\t' || c == '\r' || c == '\n') continue;
        std::string line = "X-A: a";
        line.push_back(char(c));
        line += "b";
        EXPECT_EQ(field_error(line), parse_error::bad_field_value) << "byte " << c;
    }
    EXPECT_EQ(field_error("X-A: a\x7f"), parse_error::bad_field_value);
    EXPECT_EQ(field_error("X-A: \0"s), parse_error::bad_field_value);
}

TEST(FieldLines, TabsSpacesAndObsTextInValuesAreAccepted) {
    request_head h;
    std::string head = request("GET / HTTP/1.1", "X-A: a\tb c\r\nX-B: D\xc3\xbcsseldorf\xff\r\n");
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    ASSERT_EQ(h.fields.size(), 2u);
    EXPECT_EQ(h.fields[0].value, "a\tb c");
    EXPECT_EQ(h.fields[1].value, "D\xc3\xbcsseldorf\xff");
}

TEST(FieldLines, OptionalWhitespaceAroundTheValueIsTrimmed) {
    request_head h;
    std::string head =
        request("GET / HTTP/1.1", "A:   one two \t\r\nB:\tthree\r\nC:four\r\nD:\r\nE:  \t \r\n");
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    ASSERT_EQ(h.fields.size(), 5u);
    EXPECT_EQ(h.fields[0].value, "one two");
    EXPECT_EQ(h.fields[1].value, "three");
    EXPECT_EQ(h.fields[2].value, "four");
    EXPECT_EQ(h.fields[3].value, "");
    EXPECT_EQ(h.fields[4].value, "");
}

TEST(FieldLines, OrderAndSpellingOfRepeatedFieldsArePreserved) {
    request_head h;
    std::string head = request("GET / HTTP/1.1", "Accept: a\r\nX-Other: o\r\naccept: b\r\n"
                                                 "ACCEPT: c\r\nSet-Thing: 1\r\n");
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& f : h.fields)
        got.emplace_back(f.name, f.value);
    std::vector<std::pair<std::string, std::string>> want = {
        {"Accept", "a"}, {"X-Other", "o"}, {"accept", "b"}, {"ACCEPT", "c"}, {"Set-Thing", "1"}};
    EXPECT_EQ(got, want);
    EXPECT_EQ(count_fields(h, "accept"), 3);
    EXPECT_EQ(find_field(h, "ACCEPT"), "a");
}

TEST(FieldLines, NumberOfFieldsIsBounded) {
    std::string fields;
    for (int i = 0; i < 256; ++i)
        fields += "X-F: " + std::to_string(i) + "\r\n";
    EXPECT_EQ(req_error(request("GET / HTTP/1.1", fields)), parse_error::none);
    fields += "X-F: one too many\r\n";
    EXPECT_EQ(req_error(request("GET / HTTP/1.1", fields)), parse_error::too_many_fields);
}

TEST(FieldLines, ParsingStopsAtTheEmptyLine) {
    // Whatever follows the head (a body) is not read as fields.
    std::string head = request("POST / HTTP/1.1", "Content-Length: 9\r\n") + "Bad Name: x";
    request_head h;
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    EXPECT_EQ(h.fields.size(), 1u);
}

TEST(FieldLines, HasOptionReadsListsAcrossLines) {
    request_head h;
    std::string head = request("GET / HTTP/1.1", "Connection: keep-alive , X-Foo\r\n"
                                                 "connection: Upgrade\r\n");
    ASSERT_EQ(parse_req(head, h), parse_error::none);
    EXPECT_TRUE(has_option(h, "connection", "x-foo"));
    EXPECT_TRUE(has_option(h, "Connection", "upgrade"));
    EXPECT_TRUE(has_option(h, "CONNECTION", "Keep-Alive"));
    EXPECT_FALSE(has_option(h, "connection", "close"));
    EXPECT_FALSE(has_option(h, "connection", "keep"));
}

TEST(RequestHead, ReusedOutputKeepsNothingOfTheEarlierRequest) {
    // The session parses every request of a connection into the same request_head.
    request_head h;
    std::string first = request("HEAD / HTTP/1.0", "Host: a\r\nConnection: keep-alive\r\n");
    ASSERT_EQ(parse_req(first, h), parse_error::none);
    std::string second = request("GET /b HTTP/1.1", "Host: b\r\n");
    ASSERT_EQ(parse_req(second, h), parse_error::none);
    EXPECT_EQ(h.minor, 1);
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].value, "b");

    ASSERT_EQ(parse_req(first, h), parse_error::none);
    const std::string garbage = request("garbage");
    EXPECT_NE(parse_req(garbage, h), parse_error::none);
    // A rejected request must not look like the HEAD before it (no body in the error reply)
    // nor carry its Connection options.
    EXPECT_NE(h.method, "HEAD");
    EXPECT_TRUE(h.fields.empty());
}

// --- responses --------------------------------------------------------------------------

TEST(StatusLine, WellFormed) {
    response_head h;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(parse_response_head(head, h), parse_error::none);
    EXPECT_EQ(h.minor, 1);
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.reason, "OK");
    EXPECT_EQ(h.status_line, "HTTP/1.1 200 OK");
    ASSERT_EQ(h.fields.size(), 1u);
    EXPECT_EQ(h.fields[0].name, "Content-Length");

    ASSERT_EQ(parse_response_head("HTTP/1.0 404 Not Found\r\n\r\n", h), parse_error::none);
    EXPECT_EQ(h.minor, 0);
    EXPECT_EQ(h.status, 404);
    EXPECT_EQ(h.reason, "Not Found");
    EXPECT_TRUE(h.fields.empty());

    ASSERT_EQ(parse_response_head("HTTP/1.1 599 Odd\tBut \xe2\x9c\x93 fine\r\n\r\n", h),
              parse_error::none);
    EXPECT_EQ(h.status, 599);
    EXPECT_EQ(h.reason, "Odd\tBut \xe2\x9c\x93 fine");
    ASSERT_EQ(parse_response_head("HTTP/1.1 100 Continue\r\n\r\n", h), parse_error::none);
    EXPECT_EQ(h.status, 100);
}

TEST(StatusLine, MissingOrEmptyReason) {
    response_head h;
    ASSERT_EQ(parse_response_head("HTTP/1.1 200\r\n\r\n", h), parse_error::none);
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.reason, "");
    ASSERT_EQ(parse_response_head("HTTP/1.1 204 \r\n\r\n", h), parse_error::none);
    EXPECT_EQ(h.status, 204);
    EXPECT_EQ(h.reason, "");
}

TEST(StatusLine, Malformed) {
    EXPECT_EQ(resp_error("HTTP/1.1 20 OK\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1 2000 OK\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1 099 Low\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1 600 High\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1 2x0 OK\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1  200 OK\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1 200\tOK\r\n\r\n"), parse_error::bad_status);
    EXPECT_EQ(resp_error("HTTP/1.1\t200 OK\r\n\r\n"), parse_error::bad_start_line);
    EXPECT_EQ(resp_error("HTTP/1.1 20\r\n\r\n"), parse_error::bad_start_line);
    EXPECT_EQ(resp_error("HTTP/1.1\r\n\r\n"), parse_error::bad_start_line);
    EXPECT_EQ(resp_error("\r\n"), parse_error::bad_start_line);
    EXPECT_EQ(resp_error("HTTP/2.0 200 OK\r\n\r\n"), parse_error::unsupported_version);
    EXPECT_EQ(resp_error("HTTP/0.9 200 OK\r\n\r\n"), parse_error::unsupported_version);
    EXPECT_EQ(resp_error("HTTP/1.x 200 OK\r\n\r\n"), parse_error::bad_version);
    EXPECT_EQ(resp_error("http/1.1 200 OK\r\n\r\n"), parse_error::bad_version);
    EXPECT_EQ(resp_error("RTSP/1.0 200 OK\r\n\r\n"), parse_error::bad_version);
    EXPECT_EQ(resp_error("HTTP/1.1 200 O\rK\r\n\r\n"), parse_error::bare_cr);
    EXPECT_EQ(resp_error("HTTP/1.1 200 O\0K\r\n\r\n"s), parse_error::bad_start_line);
    EXPECT_EQ(resp_error("HTTP/1.1 200 O\x01K\r\n\r\n"), parse_error::bad_start_line);
}

TEST(StatusLine, FieldRulesApplyToResponsesToo) {
    EXPECT_EQ(resp_error("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"),
              parse_error::space_before_colon);
    EXPECT_EQ(resp_error("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), parse_error::obs_fold);
    EXPECT_EQ(resp_error("HTTP/1.1 200 OK\r\n: a\r\n\r\n"), parse_error::empty_field_name);
    EXPECT_EQ(resp_error("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n"s), parse_error::bad_field_value);
}

TEST(StatusLine, ReusedOutputKeepsNothingOfTheEarlierResponse) {
    response_head h;
    ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", h), parse_error::none);
    ASSERT_EQ(parse_response_head("HTTP/1.1 204 No Content\r\n\r\n", h), parse_error::none);
    EXPECT_EQ(h.minor, 1);
    EXPECT_TRUE(h.fields.empty());
    ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\nA: 1\r\n\r\n", h), parse_error::none);
    EXPECT_NE(parse_response_head("HTTP/1.1 2x0 Bad\r\n\r\n", h), parse_error::none);
    EXPECT_TRUE(h.fields.empty());
}

TEST(ParseError, EveryErrorHasItsOwnDescription) {
    expect_distinct_descriptions(parse_error::none, parse_error::too_many_fields);
}

} // namespace
} // namespace ferry::http
